using MLNet.BNInception.Experiments.Figure1;

namespace MLNet.BNInception.Experiments.Tests;

/// <summary>
/// No code of the experiments hands TorchSharp an implicit native Scalar, which a garbage collection
/// can free while a native call still reads it (<see cref="ImplicitScalarScan"/>).
/// </summary>
public class ImplicitScalarTests
{
    [Test]
    public void NoCodeOfTheExperimentsHandsTorchSharpAnImplicitScalar()
    {
        ImplicitScalarScan.AssertNoneIn(typeof(Figure1Experiment).Assembly);
    }

    [Test]
    public void NoCodeOfTheseTestsHandsTorchSharpAnImplicitScalar()
    {
        ImplicitScalarScan.AssertNoneIn(typeof(ImplicitScalarTests).Assembly);
    }
}
