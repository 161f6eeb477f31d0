using MLNet.BNInception.Torch.Interop;

namespace MLNet.BNInception.Torch;

public static partial class torch
{
    /// <summary>A tensor of <paramref name="shape"/> with every element <paramref name="value"/>.</summary>
    public static Tensor full(long[] shape, double value, ScalarType dtype = ScalarType.Float32) =>
        NativeStatus.Tensor(NativeMethods.bni_tensor_full(shape, shape.Length, (sbyte)dtype, value, out IntPtr r), r);

    /// <summary>A tensor of zeros.</summary>
    public static Tensor zeros(long[] shape, ScalarType dtype = ScalarType.Float32) => full(shape, 0, dtype);

    /// <summary>A tensor of ones.</summary>
    public static Tensor ones(long[] shape, ScalarType dtype = ScalarType.Float32) => full(shape, 1, dtype);

    /// <summary>Values from <paramref name="start"/> up to, not including, <paramref name="end"/>.</summary>
    public static Tensor arange(double start, double end, double step = 1, ScalarType dtype = ScalarType.Int64) =>
        NativeStatus.Tensor(NativeMethods.bni_tensor_arange(start, end, step, (sbyte)dtype, out IntPtr r), r);

    /// <summary>A new tensor holding a copy of <paramref name="data"/> (row-major) with <paramref name="shape"/>.</summary>
    /// <exception cref="ArgumentException">The shape's element count differs from the data's length.</exception>
    public static unsafe Tensor tensor<T>(ReadOnlySpan<T> data, params long[] shape)
        where T : unmanaged
    {
        CheckElementCount(data.Length, shape);
        fixed (T* pointer = data)
        {
            return NativeStatus.Tensor(
                NativeMethods.bni_tensor_from_data(pointer, (sbyte)ScalarTypes.Of<T>(), shape, shape.Length, out IntPtr r), r);
        }
    }

    /// <summary>A new one-dimensional tensor holding a copy of <paramref name="data"/>.</summary>
    public static Tensor tensor<T>(T[] data)
        where T : unmanaged => tensor<T>(data, data.LongLength);

    /// <summary>A new tensor holding a copy of <paramref name="data"/> with <paramref name="shape"/>.</summary>
    public static Tensor tensor<T>(T[] data, params long[] shape)
        where T : unmanaged => tensor((ReadOnlySpan<T>)data, shape);

    /// <summary>A zero-dimensional tensor holding <paramref name="value"/>.</summary>
    public static Tensor scalar_tensor<T>(T value)
        where T : unmanaged => tensor(new ReadOnlySpan<T>(in value), []);

    /// <summary>A new tensor of <paramref name="dtype"/> whose elements are copied from raw bytes.</summary>
    public static unsafe Tensor frombuffer(ReadOnlySpan<byte> bytes, ScalarType dtype, params long[] shape)
    {
        long count = shape.Aggregate(1L, (product, size) => product * size);
        if (count * dtype.ElementSize() != bytes.Length)
        {
            throw new ArgumentException(
                $"{bytes.Length} bytes cannot fill a {dtype} tensor of shape [{string.Join(", ", shape)}] ({count * dtype.ElementSize()} bytes).",
                nameof(bytes));
        }

        fixed (byte* pointer = bytes)
        {
            return NativeStatus.Tensor(NativeMethods.bni_tensor_from_data(pointer, (sbyte)dtype, shape, shape.Length, out IntPtr r), r);
        }
    }

    /// <summary>Uniform random values in [0, 1).</summary>
    public static Tensor rand(long[] shape, ScalarType dtype = ScalarType.Float32) =>
        NativeStatus.Tensor(NativeMethods.bni_rand(shape, shape.Length, (sbyte)dtype, out IntPtr r), r);

    /// <summary>Standard normal random values.</summary>
    public static Tensor randn(long[] shape, ScalarType dtype = ScalarType.Float32) =>
        NativeStatus.Tensor(NativeMethods.bni_randn(shape, shape.Length, (sbyte)dtype, out IntPtr r), r);

    /// <summary>Uniform random int64 values in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public static Tensor randint(long low, long high, long[] shape) =>
        NativeStatus.Tensor(NativeMethods.bni_randint(low, high, shape, shape.Length, out IntPtr r), r);

    /// <summary>A random permutation of 0..<paramref name="n"/>-1, as int64.</summary>
    public static Tensor randperm(long n) => NativeStatus.Tensor(NativeMethods.bni_randperm(n, out IntPtr r), r);

    /// <summary>Concatenates tensors along an existing dimension.</summary>
    public static Tensor cat(IReadOnlyList<Tensor> tensors, long dim = 0) => JoinTensors(tensors, dim, stack: false);

    /// <summary>Stacks tensors of equal shape along a new dimension.</summary>
    public static Tensor stack(IReadOnlyList<Tensor> tensors, long dim = 0) => JoinTensors(tensors, dim, stack: true);

    /// <summary>Elementwise <paramref name="condition"/> ? <paramref name="a"/> : <paramref name="b"/>.</summary>
    public static Tensor where(Tensor condition, Tensor a, Tensor b) =>
        NativeStatus.Tensor(NativeMethods.bni_where(condition.Handle, a.Handle, b.Handle, out IntPtr r), r);

    private static unsafe Tensor JoinTensors(IReadOnlyList<Tensor> tensors, long dim, bool stack)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var handles = new TensorHandle[tensors.Count];
        var pointers = new IntPtr[tensors.Count];
        var added = new bool[tensors.Count];
        try
        {
            // The handles are pinned with AddRef so that no concurrent Dispose frees one mid-call.
            for (int i = 0; i < handles.Length; i++)
            {
                handles[i] = tensors[i].Handle;
                handles[i].DangerousAddRef(ref added[i]);
                pointers[i] = handles[i].DangerousGetHandle();
            }

            fixed (IntPtr* list = pointers)
            {
                IntPtr error = stack
                    ? NativeMethods.bni_stack(list, pointers.Length, dim, out IntPtr stacked)
                    : NativeMethods.bni_cat(list, pointers.Length, dim, out stacked);
                return NativeStatus.Tensor(error, stacked);
            }
        }
        finally
        {
            for (int i = 0; i < handles.Length; i++)
            {
                if (added[i])
                {
                    handles[i].DangerousRelease();
                }
            }
        }
    }

    private static void CheckElementCount(int length, long[] shape)
    {
        long count = shape.Aggregate(1L, (product, size) => product * size);
        if (count != length)
        {
            throw new ArgumentException(
                $"The data has {length} elements but shape [{string.Join(", ", shape)}] needs {count}.", nameof(shape));
        }
    }
}
