using MLNet.BNInception.Torch.Interop;

namespace MLNet.BNInception.Torch;

public sealed partial class Tensor
{
    /// <summary>A copy converted to <paramref name="type"/> (this tensor itself when it already has it).</summary>
    public Tensor to(ScalarType type) => NativeStatus.Tensor(NativeMethods.bni_tensor_to_dtype(Handle, (sbyte)type, out IntPtr r), r);

    /// <summary>A second handle to this same tensor, disposed independently of this one.</summary>
    public Tensor alias() => NativeStatus.Tensor(NativeMethods.bni_tensor_alias(Handle, out IntPtr r), r);

    /// <summary>A copy with its own storage; gradients flow back to this tensor.</summary>
    public Tensor clone() => NativeStatus.Tensor(NativeMethods.bni_tensor_clone(Handle, out IntPtr r), r);

    /// <summary>This tensor laid out densely (a copy only when it is not contiguous already).</summary>
    public Tensor contiguous() => NativeStatus.Tensor(NativeMethods.bni_tensor_contiguous(Handle, out IntPtr r), r);

    /// <summary>The same data, cut off from the autograd graph.</summary>
    public Tensor detach() => NativeStatus.Tensor(NativeMethods.bni_tensor_detach(Handle, out IntPtr r), r);

    /// <summary>The same elements with another shape; one dimension may be -1 (inferred).</summary>
    public Tensor reshape(params long[] shape) =>
        NativeStatus.Tensor(NativeMethods.bni_tensor_reshape(Handle, shape, shape.Length, out IntPtr r), r);

    /// <summary>A view with the dimensions reordered.</summary>
    public Tensor permute(params long[] dims) =>
        NativeStatus.Tensor(NativeMethods.bni_tensor_permute(Handle, dims, dims.Length, out IntPtr r), r);

    /// <summary>Dimensions <paramref name="start_dim"/> to <paramref name="end_dim"/> merged into one.</summary>
    public Tensor flatten(long start_dim = 0, long end_dim = -1) =>
        NativeStatus.Tensor(NativeMethods.bni_tensor_flatten(Handle, start_dim, end_dim, out IntPtr r), r);

    /// <summary>A view with two dimensions swapped.</summary>
    public Tensor transpose(long dim0, long dim1) =>
        NativeStatus.Tensor(NativeMethods.bni_tensor_transpose(Handle, dim0, dim1, out IntPtr r), r);

    /// <summary>A view with a dimension of size one inserted at <paramref name="dim"/>.</summary>
    public Tensor unsqueeze(long dim) => NativeStatus.Tensor(NativeMethods.bni_tensor_unsqueeze(Handle, dim, out IntPtr r), r);

    /// <summary>A view without dimension <paramref name="dim"/>, when its size is one.</summary>
    public Tensor squeeze(long dim) => NativeStatus.Tensor(NativeMethods.bni_tensor_squeeze(Handle, dim, out IntPtr r), r);

    /// <summary>A view broadcast to <paramref name="shape"/> (-1 keeps a size).</summary>
    public Tensor expand(params long[] shape) =>
        NativeStatus.Tensor(NativeMethods.bni_tensor_expand(Handle, shape, shape.Length, out IntPtr r), r);

    /// <summary>The slice at <paramref name="index"/> along <paramref name="dim"/>, that dimension removed.</summary>
    public Tensor select(long dim, long index) =>
        NativeStatus.Tensor(NativeMethods.bni_tensor_select(Handle, dim, index, out IntPtr r), r);

    /// <summary>Elements <paramref name="start"/> to <paramref name="start"/>+<paramref name="length"/> along <paramref name="dim"/>.</summary>
    public Tensor narrow(long dim, long start, long length) => slice(dim, start, start + length, 1);

    /// <summary>Python's <c>x[..., start:end:step, ...]</c> along <paramref name="dim"/>, as a view.</summary>
    public Tensor slice(long dim, long start, long end, long step = 1) =>
        NativeStatus.Tensor(NativeMethods.bni_tensor_slice(Handle, dim, start, end, step, out IntPtr r), r);

    /// <summary>The entries at the int64 <paramref name="index"/> positions along <paramref name="dim"/>, copied.</summary>
    public Tensor index_select(long dim, Tensor index) =>
        NativeStatus.Tensor(NativeMethods.bni_tensor_index_select(Handle, dim, index.Handle, out IntPtr r), r);

    /// <summary>A view of this tensor's storage with explicit sizes, strides and offset.</summary>
    public Tensor as_strided(long[] size, long[] stride, long storage_offset = 0)
    {
        if (size.Length != stride.Length)
        {
            throw new ArgumentException($"size has {size.Length} entries but stride has {stride.Length}.", nameof(stride));
        }

        return NativeStatus.Tensor(NativeMethods.bni_tensor_as_strided(Handle, size, stride, size.Length, storage_offset, out IntPtr r), r);
    }

    /// <summary><c>x[i]</c>: the slice at <paramref name="index"/> along the first dimension.</summary>
    public Tensor this[long index] => select(0, index);

    /// <summary><c>x[i, j]</c>: the slice at <paramref name="i"/>, then at <paramref name="j"/>.</summary>
    public Tensor this[long i, long j]
    {
        get
        {
            using Tensor row = select(0, i);
            return row.select(0, j);
        }
    }

    /// <summary>Copies <paramref name="source"/> (broadcast, converted) into this tensor in place.</summary>
    public Tensor copy_(Tensor source)
    {
        NativeStatus.Check(NativeMethods.bni_tensor_copy_(Handle, source.Handle));
        return this;
    }

    /// <summary>Sets every element to <paramref name="value"/> in place.</summary>
    public Tensor fill_(double value)
    {
        NativeStatus.Check(NativeMethods.bni_tensor_fill_(Handle, value));
        return this;
    }

    /// <summary>Sets every element to zero in place.</summary>
    public Tensor zero_() => fill_(0);

    /// <summary>True when both tensors have the same shape, type and elements.</summary>
    public bool equal(Tensor other)
    {
        NativeStatus.Check(NativeMethods.bni_tensor_equal(Handle, other.Handle, out int result));
        return result != 0;
    }
}
