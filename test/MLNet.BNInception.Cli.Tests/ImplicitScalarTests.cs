using MLNet.BNInception.Cli.Pipelines;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// No code of the bninception tool hands TorchSharp an implicit native Scalar, which a garbage
/// collection can free while a native call still reads it (<see cref="ImplicitScalarScan"/>).
/// </summary>
public class ImplicitScalarTests
{
    [Test]
    public void NoCodeOfTheToolHandsTorchSharpAnImplicitScalar()
    {
        ImplicitScalarScan.AssertNoneIn(typeof(TrainingReport).Assembly);
    }

    [Test]
    public void NoCodeOfTheseTestsHandsTorchSharpAnImplicitScalar()
    {
        ImplicitScalarScan.AssertNoneIn(typeof(ImplicitScalarTests).Assembly);
    }
}
