namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// bfloat16 convolutions on a processor without oneDNN's bfloat16 kernels (docs/engine.md,
/// "Processors without AVX-512"): the processor check against the kernel's own flags, and the
/// widened convolution, forward and backward, against a float64 convolution of the same rounded
/// operands, rounded to bfloat16. Both paths run on any processor.
/// </summary>
public class BFloat16ConvolutionsTests : SingleThreadedFixture
{
    [Test]
    public void TheProcessorCheckAgreesWithTheKernelsFlags()
    {
        // Only x86 processors list "flags"; elsewhere libtorch's own path is kept.
        string[] flags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(line => line.StartsWith("flags", StringComparison.Ordinal))?.Split(':', 2)[1]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];
        bool x86 = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture is System.Runtime.InteropServices.Architecture.X64;
        bool expected = !x86 || new[] { "avx512bw", "avx512vl", "avx512dq" }.All(flags.Contains);
        Assert.That(BFloat16Convolutions.CpuRunsThemNatively, Is.EqualTo(expected), $"flags: {string.Join(' ', flags)}");
        Assert.That(BFloat16Convolutions.WidenOnCpu, Is.EqualTo(!expected), "widened exactly where libtorch lacks oneDNN's bfloat16 kernels");
    }

    [TestCase(1, 0, TestName = "{m}(1x1)")]
    [TestCase(3, 1, TestName = "{m}(3x3)")]
    public void TheWidenedConvolutionAndItsGradientsAreTheExactOnesRounded(int kernel, int padding)
    {
        bool widened = BFloat16Convolutions.WidenOnCpu;
        BFloat16Convolutions.WidenOnCpu = true;
        try
        {
            using DisposeScope scope = NewDisposeScope();
            using var generator = new Generator(11);
            // bfloat16 operands and upstream gradient, channels-last as in the network.
            Tensor input = ChannelsLast.Of(randn([2, 96, 14, 14], generator: generator).to(ScalarType.BFloat16)).requires_grad_();
            Tensor weight = ChannelsLast.Of(TestTensors.Times(randn([32, 96, kernel, kernel], generator: generator), 0.05).to(ScalarType.BFloat16)).requires_grad_();
            Tensor bias = TestTensors.Times(randn([32], generator: generator), 0.1).to(ScalarType.BFloat16).requires_grad_();
            Tensor upstream = randn([2, 32, 14 + 2 * padding - kernel + 1, 14 + 2 * padding - kernel + 1], generator: generator).to(ScalarType.BFloat16);

            Tensor output = BFloat16Convolutions.Convolve(input, weight, bias, 1, padding);
            Assert.That(output.dtype, Is.EqualTo(ScalarType.BFloat16));
            Assert.That(ChannelsLast.Is(output), Is.True, "a channels-last input gives a channels-last output");
            output.to(ScalarType.Float32).mul(upstream.to(ScalarType.Float32)).sum().backward();

            // The reference: float64 sums of the same rounded values, then rounded to bfloat16 once.
            Tensor input64 = input.detach().to(ScalarType.Float64).requires_grad_();
            Tensor weight64 = weight.detach().to(ScalarType.Float64).requires_grad_();
            Tensor bias64 = bias.detach().to(ScalarType.Float64).requires_grad_();
            Tensor output64 = nn.functional.conv2d(input64, weight64, bias64, padding: [padding]);
            output64.mul(upstream.to(ScalarType.Float64)).sum().backward();

            AssertWithinOneRounding(output, output64, "output");
            AssertWithinOneRounding(input.grad!, input64.grad!, "input's gradient");
            AssertWithinOneRounding(weight.grad!, weight64.grad!, "weight's gradient");
            AssertWithinOneRounding(bias.grad!, bias64.grad!, "bias's gradient");
        }
        finally
        {
            BFloat16Convolutions.WidenOnCpu = widened;
        }
    }

    // Float32 sums differ from float64 ones only in the last bits, so rounding both to bfloat16
    // gives the same value but where the exact result lies next to a rounding boundary: then the
    // two are one bfloat16 step apart (at most 2^-7 of the value). A sum that cancels to near zero
    // keeps float32's error of its terms, so a millionth-scale absolute error is allowed too; the
    // share of exactly equal values keeps the check sharp.
    private static void AssertWithinOneRounding(Tensor ours, Tensor exact, string what)
    {
        Assert.That(ours.dtype, Is.EqualTo(ScalarType.BFloat16), what);
        float[] actual = TestModels.Values(ours);
        float[] expected = TestModels.Values(exact.to(ScalarType.BFloat16));
        double[] unrounded = [.. TestModels.Values(exact).Select(v => (double)v)];
        double cancellation = 1e-5 * unrounded.Max(Math.Abs);
        int equal = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            Assert.That(Math.Abs(actual[i] - expected[i]), Is.LessThanOrEqualTo(Math.Abs(unrounded[i]) / 128 + cancellation), $"{what}[{i}]");
            equal += actual[i] == expected[i] ? 1 : 0;
        }

        Assert.That(equal, Is.GreaterThanOrEqualTo(actual.Length * 0.99), $"{what}: values equal to the exact result rounded");
    }
}
