using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Network;

/// <summary>
/// The channels-last memory layout for 4-D tensors (N, C, H, W shape, laid out N, H, W, C in
/// memory), in which libtorch's CPU convolution, batch-norm and pooling kernels (oneDNN) run much
/// faster. TorchSharp 0.107 has no memory-format argument, so the layout is made by permuting to
/// N, H, W, C, making that contiguous and permuting back: the result has PyTorch's channels-last
/// strides, which libtorch recognises exactly as it recognises
/// <c>tensor.to(memory_format=torch.channels_last)</c>. Layout never changes values.
/// </summary>
public static class ChannelsLast
{
    /// <summary>
    /// <paramref name="tensor"/> (4-D) with channels-last strides: a new tensor when its layout
    /// differs, else a view of it. The shape is unchanged.
    /// </summary>
    public static Tensor Of(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.ndim != 4)
        {
            throw new ArgumentException($"Channels-last applies to 4-D tensors, not [{string.Join(", ", tensor.shape)}].", nameof(tensor));
        }

        using Tensor nhwc = tensor.permute(0, 2, 3, 1);
        using Tensor compact = nhwc.contiguous();
        return compact.permute(0, 3, 1, 2);
    }

    /// <summary>
    /// Whether <paramref name="tensor"/> is laid out channels-last: the strides of a compact N, H, W, C
    /// array (size-1 dimensions may have any stride, as in PyTorch).
    /// </summary>
    public static bool Is(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.ndim != 4)
        {
            return false;
        }

        long[] shape = tensor.shape, strides = tensor.stride();
        long expected = 1;
        foreach (int dim in (ReadOnlySpan<int>)[1, 3, 2, 0])
        {
            if (shape[dim] != 1 && strides[dim] != expected)
            {
                return false;
            }

            expected *= shape[dim];
        }

        return true;
    }
}
