using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Tests;

/// <summary>
/// No code of the ML.NET package, of the main job or of these tests hands TorchSharp an implicit native Scalar,
/// which a garbage collection can free while a native call still reads it (<see cref="ImplicitScalarScan"/>).
/// </summary>
public class ImplicitScalarTests
{
    [TestCase(typeof(BnInceptionMulticlassTrainer))]
    [TestCase(typeof(MLNet.BNInception.Demo.WalkthroughSettings))]
    [TestCase(typeof(ImplicitScalarTests), Description = "these tests' own code: a crash in a test is a crash of the run")]
    public void NoCodeOfTheAssemblyHandsTorchSharpAnImplicitScalar(Type member)
    {
        ImplicitScalarScan.AssertNoneIn(member.Assembly);
    }
}
