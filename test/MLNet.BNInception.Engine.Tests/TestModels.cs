using TorchSharp.Modules;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>Networks and comparisons shared by the tests.</summary>
internal static class TestModels
{
    /// <summary>
    /// A network in eval mode whose BN γ, β and running statistics are random rather than the
    /// defaults (1, 0, 0, 1), as after training: with the defaults, folding and exports would be
    /// nearly the identity and a comparison would prove little.
    /// </summary>
    public static BnInception WithTrainedLikeBatchNorm(BnInceptionOptions options, ulong seed)
    {
        var model = new BnInception(options, seed);
        manual_seed((long)seed + 1);
        using IDisposable noGrad = no_grad();
        foreach (BatchNorm2d bn in model.modules().OfType<BatchNorm2d>())
        {
            bn.weight.uniform_(0.5, 1.5);
            bn.bias!.normal_(0, 0.2);
            bn.running_mean!.normal_(0, 0.5);
            bn.running_var!.uniform_(0.3, 2.0);
        }

        model.Classifier.weight.normal_(0, 0.1);
        model.eval();
        return model;
    }

    /// <summary>The bytes of every tensor of the network's state dict, in order, each in the contiguous layout.</summary>
    public static byte[] WeightBytes(BnInception model) =>
        model.state_dict().Values.SelectMany(value =>
        {
            using DisposeScope scope = NewDisposeScope();
            return value.detach().contiguous().bytes.ToArray();
        }).ToArray();

    /// <summary>Every value of a float tensor (any layout or type) as float32, in row-major order.</summary>
    public static float[] Values(Tensor tensor)
    {
        // The scope holds each tensor of the chain until the values are read, and the argument is
        // kept to the end: a tensor dropped mid-chain can be freed during the next native call
        // (test/Shared/FinalizedTensors.cs).
        using DisposeScope scope = NewDisposeScope();
        float[] values = tensor.detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        GC.KeepAlive(tensor);
        return values;
    }

    /// <summary>Every value of a float32 tensor (any layout) as its bit pattern, in row-major order: comparisons that tell -0 from 0.</summary>
    public static int[] Bits(Tensor tensor) => [.. Values(tensor).Select(BitConverter.SingleToInt32Bits)];

    /// <summary>
    /// Asserts that two float arrays hold equal values (as <c>Is.EqualTo</c> compares them: -0 equals 0,
    /// NaN equals NaN), comparing element by element first because NUnit's comparison of millions of
    /// boxed floats takes seconds; only a mismatch goes through NUnit, for its message.
    /// </summary>
    public static void AssertEqualValues(float[] actual, float[] expected, string what)
    {
        bool equal = actual.Length == expected.Length;
        for (int i = 0; equal && i < actual.Length; i++)
        {
            equal = actual[i] == expected[i] || (float.IsNaN(actual[i]) && float.IsNaN(expected[i]));
        }

        if (!equal)
        {
            Assert.That(actual, Is.EqualTo(expected), what);
        }
    }

    /// <summary>Asserts that two bit patterns (from <see cref="Bits"/>) are the same, comparing them directly first as <see cref="AssertEqualValues"/> does.</summary>
    public static void AssertSameBits(int[] actual, int[] expected, string what)
    {
        if (!actual.AsSpan().SequenceEqual(expected))
        {
            Assert.That(actual, Is.EqualTo(expected), what);
        }
    }

    /// <summary>
    /// Asserts that two byte sequences (files, weights) are the same, directly rather than through
    /// NUnit's element-by-element comparison of boxed bytes, which takes seconds for a network's
    /// 40 MB; a failure names the lengths and the first byte that differs.
    /// </summary>
    public static void AssertSameBytes(ReadOnlySpan<byte> actual, ReadOnlySpan<byte> expected, string what)
    {
        if (!actual.SequenceEqual(expected))
        {
            int first = actual.CommonPrefixLength(expected);
            Assert.Fail($"{what}: {actual.Length} bytes where {expected.Length} were expected; the first difference is at byte {first}.");
        }
    }

    /// <summary>Asserts that two sets of scores differ by less than <paramref name="relative"/> of the largest magnitude in <paramref name="expected"/>.</summary>
    public static void AssertCloseToScale(float[] actual, float[] expected, string what, double relative = 1e-4)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        double scale = expected.Max(Math.Abs);
        double worst = actual.Zip(expected, (a, b) => Math.Abs(a - b)).Max();
        Assert.That(scale, Is.GreaterThan(0), what);
        Assert.That(worst, Is.LessThan(relative * scale), $"{what}: max |difference| {worst:G3} at scale {scale:G3}");
    }
}
