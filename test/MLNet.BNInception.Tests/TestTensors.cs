using static TorchSharp.torch;

namespace MLNet.BNInception.Tests;

internal static class TestTensors
{
    /// <summary>Whether two tensors hold the same bytes in the same shape (layouts may differ).</summary>
    public static bool SameBytes(Tensor a, Tensor b)
    {
        using Tensor left = a.detach().cpu().contiguous();
        using Tensor right = b.detach().cpu().contiguous();
        return left.dtype == right.dtype && left.shape.SequenceEqual(right.shape) && left.bytes.SequenceEqual(right.bytes);
    }
}
