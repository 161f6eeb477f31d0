using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Tensor helpers for tests that keep every native object alive through the call that reads it: no
/// implicit Scalar (ImplicitScalarScan) and no tensor dropped undisposed (FinalizedTensors).
/// </summary>
internal static class TestTensors
{
    /// <summary>1, held for the process: the α of <c>add(other, One)</c>, which <c>a + b</c> would make implicitly.</summary>
    public static readonly Scalar One = 1.ToScalar();

    /// <summary><c>arange(start, end)</c> of <paramref name="type"/>, with its numbers in held Scalars.</summary>
    public static Tensor Range(long start, long end, ScalarType type)
    {
        using Scalar first = start.ToScalar(), stop = end.ToScalar();
        return arange(first, stop, One, type);
    }

    /// <summary><c>arange(count)</c> of <paramref name="type"/>, with its numbers in held Scalars.</summary>
    public static Tensor Range(long count, ScalarType type) => Range(0, count, type);

    /// <summary><c>tensor * factor</c>, with the factor in a held Scalar.</summary>
    public static Tensor Times(Tensor tensor, double factor)
    {
        using Scalar held = factor.ToScalar();
        return tensor.mul(held);
    }

    /// <summary>Fills <paramref name="tensor"/> with <paramref name="value"/> in place, the value in a held Scalar.</summary>
    public static void Fill(Tensor tensor, double value)
    {
        using Scalar held = value.ToScalar();
        tensor.fill_(held);
    }

    /// <summary>Whether two tensors hold the same bytes in the same shape (layouts may differ).</summary>
    public static bool SameBytes(Tensor a, Tensor b)
    {
        // The scope holds each tensor of the chains until the bytes are read, and the arguments are
        // kept to the end: a tensor dropped mid-chain can be freed during the next native call
        // (FinalizedTensors).
        using DisposeScope scope = NewDisposeScope();
        Tensor left = a.detach().cpu().contiguous();
        Tensor right = b.detach().cpu().contiguous();
        bool same = left.dtype == right.dtype && left.shape.SequenceEqual(right.shape) && left.bytes.SequenceEqual(right.bytes);
        GC.KeepAlive(a);
        GC.KeepAlive(b);
        return same;
    }
}
