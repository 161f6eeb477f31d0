using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Tests;

/// <summary>
/// No code of the ML.NET package (or of the main job) hands TorchSharp an implicit native Scalar,
/// which a garbage collection can free while a native call still reads it (<see cref="ImplicitScalarScan"/>).
/// </summary>
public class ImplicitScalarTests
{
    [TestCase(typeof(BnInceptionMulticlassTrainer))]
    [TestCase(typeof(MLNet.BNInception.Demo.WalkthroughSettings))]
    public void NoCodeOfTheAssemblyHandsTorchSharpAnImplicitScalar(Type member)
    {
        ImplicitScalarScan.AssertNoneIn(member.Assembly);
    }
}
