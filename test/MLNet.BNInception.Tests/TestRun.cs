namespace MLNet.BNInception.Tests;

/// <summary>What lives for the whole test run of this assembly, freed at its end.</summary>
[SetUpFixture]
public sealed class TestRun
{
    [OneTimeTearDown]
    public void FreeSharedModels() => TrainedModel.FreeShared();
}
