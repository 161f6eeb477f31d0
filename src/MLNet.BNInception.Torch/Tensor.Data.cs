using MLNet.BNInception.Torch.Interop;

namespace MLNet.BNInception.Torch;

public sealed partial class Tensor
{
    /// <summary>Copies the elements, in row-major order, into a new array.</summary>
    /// <exception cref="InvalidOperationException"><typeparamref name="T"/> does not match <see cref="dtype"/>.</exception>
    public T[] ToArray<T>()
        where T : unmanaged
    {
        var result = new T[checked((int)numel())];
        CopyTo<T>(result);
        return result;
    }

    /// <summary>Copies the elements, in row-major order, into <paramref name="destination"/> (exactly numel long).</summary>
    public unsafe void CopyTo<T>(Span<T> destination)
        where T : unmanaged
    {
        CheckElementType<T>();
        fixed (T* pointer = destination)
        {
            NativeStatus.Check(NativeMethods.bni_tensor_copy_to_buffer(Handle, pointer, (long)destination.Length * sizeof(T)));
        }
    }

    /// <summary>Copies the raw element bytes, in row-major order, into <paramref name="destination"/>.</summary>
    public unsafe void CopyBytesTo(Span<byte> destination)
    {
        fixed (byte* pointer = destination)
        {
            NativeStatus.Check(NativeMethods.bni_tensor_copy_to_buffer(Handle, pointer, destination.Length));
        }
    }

    /// <summary>Number of bytes the elements take.</summary>
    public long nbytes => numel() * dtype.ElementSize();

    /// <summary>
    /// The elements of a contiguous tensor as a span over native memory, without copying. Writes go to
    /// the tensor. The span is valid only while the tensor is alive and not resized.
    /// </summary>
    public unsafe Span<T> AsSpan<T>()
        where T : unmanaged
    {
        CheckElementType<T>();
        if (!is_contiguous())
        {
            throw new InvalidOperationException("AsSpan needs a contiguous tensor; call contiguous() first.");
        }

        return new Span<T>(NativeMethods.bni_tensor_data_ptr(Handle), checked((int)numel()));
    }

    /// <summary>The value of a one-element tensor.</summary>
    public T item<T>()
        where T : unmanaged
    {
        if (typeof(T) == typeof(long) || typeof(T) == typeof(int))
        {
            NativeStatus.Check(NativeMethods.bni_tensor_item_int64(Handle, out long integer));
            return typeof(T) == typeof(long) ? (T)(object)integer : (T)(object)checked((int)integer);
        }

        NativeStatus.Check(NativeMethods.bni_tensor_item(Handle, out double value));
        if (typeof(T) == typeof(double)) return (T)(object)value;
        if (typeof(T) == typeof(float)) return (T)(object)(float)value;
        if (typeof(T) == typeof(bool)) return (T)(object)(value != 0);
        throw new NotSupportedException($"item<{typeof(T).Name}> is not supported.");
    }

    private void CheckElementType<T>()
        where T : unmanaged
    {
        ScalarType expected = ScalarTypes.Of<T>();
        ScalarType actual = dtype;
        if (expected != actual)
        {
            throw new InvalidOperationException($"The tensor holds {actual}, not {typeof(T).Name} ({expected}).");
        }
    }
}
