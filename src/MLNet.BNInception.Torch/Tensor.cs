using MLNet.BNInception.Torch.Interop;

namespace MLNet.BNInception.Torch;

/// <summary>
/// A libtorch tensor on the CPU. It holds one native reference: <see cref="Dispose"/> releases it at
/// once (the storage is freed when no tensor views it any longer). Tensors created while a
/// <see cref="DisposeScope"/> is open belong to it. Member names follow PyTorch and TorchSharp.
/// </summary>
public sealed partial class Tensor : IDisposable
{
    private readonly TensorHandle _handle;

    internal Tensor(IntPtr handle)
    {
        _handle = new TensorHandle(handle);
        DisposeScope.Current?.Attach(this);
    }

    internal DisposeScope? OwningScope { get; set; }

    internal TensorHandle Handle =>
        _handle.IsClosed ? throw new ObjectDisposedException(nameof(Tensor), "The tensor has been disposed.") : _handle;

    /// <summary>True once the native reference has been released.</summary>
    public bool IsDisposed => _handle.IsClosed;

    /// <summary>Element type.</summary>
    public ScalarType dtype => (ScalarType)NativeMethods.bni_tensor_dtype(Handle);

    /// <summary>Number of dimensions.</summary>
    public int ndim => NativeMethods.bni_tensor_ndim(Handle);

    /// <summary>Size of each dimension.</summary>
    public unsafe long[] shape
    {
        get
        {
            var sizes = new long[ndim];
            fixed (long* destination = sizes)
            {
                NativeMethods.bni_tensor_sizes(Handle, destination);
            }

            return sizes;
        }
    }

    /// <summary>Number of elements.</summary>
    public long numel() => NativeMethods.bni_tensor_numel(Handle);

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public long size(int dim)
    {
        long[] sizes = shape;
        int index = dim < 0 ? dim + sizes.Length : dim;
        if (index < 0 || index >= sizes.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(dim), dim, $"the tensor has {sizes.Length} dimensions");
        }

        return sizes[index];
    }

    /// <summary>Elements to step over per index in each dimension.</summary>
    public unsafe long[] stride()
    {
        var strides = new long[ndim];
        fixed (long* destination = strides)
        {
            NativeMethods.bni_tensor_strides(Handle, destination);
        }

        return strides;
    }

    /// <summary>Offset of the first element in the underlying storage, in elements.</summary>
    public long storage_offset() => NativeMethods.bni_tensor_storage_offset(Handle);

    /// <summary>True when the elements are laid out densely in row-major order.</summary>
    public bool is_contiguous() => NativeMethods.bni_tensor_is_contiguous(Handle) != 0;

    /// <summary>Moves this tensor from its scope to the enclosing one (or out of all scopes).</summary>
    public Tensor MoveToOuterDisposeScope()
    {
        DisposeScope? scope = OwningScope;
        if (scope is not null)
        {
            scope.Forget(this);
            OwningScope = null;
            scope.Outer?.Attach(this);
        }

        return this;
    }

    /// <summary>Takes this tensor out of every scope: the caller disposes it.</summary>
    public Tensor DetachFromDisposeScope()
    {
        OwningScope?.Forget(this);
        OwningScope = null;
        return this;
    }

    /// <summary>Releases the native reference now.</summary>
    public void Dispose()
    {
        if (_handle.IsClosed)
        {
            return;
        }

        OwningScope?.Forget(this);
        OwningScope = null;
        _handle.Dispose();
    }

    /// <summary>Shape and type, for debugging; the values are not printed.</summary>
    public override string ToString() =>
        IsDisposed ? "Tensor(disposed)" : $"Tensor([{string.Join(", ", shape)}], {dtype})";
}
