using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.BNInception.Engine.Network;

/// <summary>
/// How bfloat16 convolutions run on the CPU. libtorch hands them to oneDNN's bfloat16 kernels on x86
/// processors with AVX-512 BW, VL and DQ (the condition PyTorch's own bfloat16 device check states;
/// oneDNN also takes a few Intel processors with AVX-NE-CONVERT, which this check leaves out);
/// elsewhere, on an AVX2-only x86 processor, it falls back to a reference convolution that ran 13×
/// slower than float32 in training (docs/engine.md, "Processors without AVX-512"). There the
/// network convolves bfloat16 tensors in float32 instead: the bfloat16 input and weights are widened
/// exactly, the sums are float32 as in oneDNN's bfloat16 kernels, and the output is rounded to
/// bfloat16, so mixed precision keeps its arithmetic (bfloat16 operands and activations) at about
/// float32's speed.
/// </summary>
public static class BFloat16Convolutions
{
    /// <summary>
    /// True when libtorch runs bfloat16 convolutions on this processor with oneDNN: an x86 processor
    /// with AVX-512 BW, VL and DQ, or any other architecture (whose bfloat16 path we leave to libtorch).
    /// False on x86 when the runtime cannot read CPUID (hardware intrinsics turned off): widening is
    /// then the safe side, exact and never the 13× slower path.
    /// </summary>
    public static bool CpuRunsThemNatively { get; } = HasOneDnnBFloat16();

    /// <summary>
    /// Whether bfloat16 convolutions on the CPU are computed in float32 (the default: when
    /// <see cref="CpuRunsThemNatively"/> is false). Settable so that tests run both paths on any
    /// processor; set it before a network is built, not while one runs.
    /// </summary>
    internal static bool WidenOnCpu { get; set; } = !CpuRunsThemNatively;

    /// <summary>
    /// The convolution of <paramref name="input"/>, in float32 when it and the weight are bfloat16
    /// tensors on the CPU and <see cref="WidenOnCpu"/> holds (output in bfloat16 still), else in
    /// their own type (where libtorch refuses mixed types, as it does everywhere else).
    /// Autograd follows the casts, so gradients come back in the operands' types.
    /// </summary>
    internal static Tensor Convolve(Tensor input, Tensor weight, Tensor? bias, long stride, long padding)
    {
        if (input.dtype != ScalarType.BFloat16 || weight.dtype != ScalarType.BFloat16 || input.device_type != DeviceType.CPU || !WidenOnCpu)
        {
            return F.conv2d(input, weight, bias, strides: [stride], padding: [padding]);
        }

        // to() keeps the strides, so a channels-last input stays channels-last in float32.
        using Tensor wideInput = input.to(ScalarType.Float32);
        using Tensor wideWeight = weight.to(ScalarType.Float32);
        using Tensor? wideBias = bias?.to(ScalarType.Float32);
        using Tensor wideOutput = F.conv2d(wideInput, wideWeight, wideBias, strides: [stride], padding: [padding]);
        return wideOutput.to(ScalarType.BFloat16);
    }

    // CPUID leaf 7, subleaf 0, EBX: bit 17 AVX512DQ, bit 30 AVX512BW, bit 31 AVX512VL. Read from the
    // processor, not from Avx512BW.IsSupported, which DOTNET_EnableAVX512F=0 turns off while
    // libtorch still sees the instructions.
    private static bool HasOneDnnBFloat16()
    {
        if (RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.X86))
        {
            return true;
        }

        if (!X86Base.IsSupported)
        {
            return false;
        }

        (int maximumLeaf, _, _, _) = X86Base.CpuId(0, 0);
        if (maximumLeaf < 7)
        {
            return false;
        }

        (_, int ebx, _, _) = X86Base.CpuId(7, 0);
        const int Needed = (1 << 17) | (1 << 30) | unchecked((int)(1u << 31));
        return (ebx & Needed) == Needed;
    }
}
