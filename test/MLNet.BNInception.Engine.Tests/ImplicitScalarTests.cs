
namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// No code of the engine hands TorchSharp an implicit native Scalar, which a garbage collection can
/// free while a native call still reads it (<see cref="ImplicitScalarScan"/>; ScalarLifetimeTests
/// shows the crash on TorchSharp's own paths).
/// </summary>
public class ImplicitScalarTests
{
    [Test]
    public void NoCodeOfTheEngineHandsTorchSharpAnImplicitScalar()
    {
        ImplicitScalarScan.AssertNoneIn(typeof(BnInception).Assembly);
    }

    [Test]
    public void NoCodeOfTheseTestsHandsTorchSharpAnImplicitScalar()
    {
        // A crash in a test is a crash of the run; the examples below are read, never run.
        string examples = typeof(ImplicitScalarTests).FullName + ".";
        string[] found = [.. ImplicitScalarScan.Find(typeof(ImplicitScalarTests).Assembly).Where(line => !line.StartsWith(examples, StringComparison.Ordinal))];
        Assert.That(found, Is.Empty, "\n" + string.Join("\n", found));
    }

    [Test]
    public void TheScanFindsANumberHandedOverAndOneMadeInsideTorchSharp()
    {
        string[] found = ImplicitScalarScan.Find(typeof(ImplicitScalarTests).Assembly)
            .Where(line => line.StartsWith(typeof(ImplicitScalarTests).FullName!, StringComparison.Ordinal)).ToArray();
        Assert.That(found, Has.Some.Matches(@"\.AddsOne\(Tensor\) → TorchSharp\.Scalar\.op_Implicit\(Int32\)"));
        Assert.That(found, Has.Some.Matches(@"\.Squares\(Tensor\) → TorchSharp\.torch\+Tensor\.square\(\), which makes one"));
        Assert.That(found, Has.Some.Matches(@"\.AddsAScalar\(Tensor, Scalar\) → TorchSharp\.torch\+Tensor\.add\(Scalar\), which makes one"),
            "add(s) makes its α of 1");
        Assert.That(found, Has.Some.Matches(@"\.Steps\(Optimizer\) → .*\.step\(Func`1\), overridden by TorchSharp\.Modules\.SGD\.step\("),
            "a virtual call is followed into TorchSharp's overrides");
        Assert.That(found, Has.None.Contains(".HoldsItsScalar("));
        Assert.That(found, Has.None.Contains(".RunsAReference("), "a method marked as a reference path is passed over");
    }

    // Read by the test above, never run.
    private static Tensor AddsOne(Tensor input) => input.add(1);

    private static Tensor Squares(Tensor input) => input.square();

    private static Tensor AddsAScalar(Tensor input, Scalar value) => input.add(value);

    private static void Steps(optim.Optimizer optimizer) => optimizer.step();

    [ReferencePath]
    private static Tensor RunsAReference(Tensor input) => input.add(1);

    private static Tensor HoldsItsScalar(Tensor input)
    {
        using Scalar one = 1.ToScalar();
        return input.add(one, one);
    }
}
