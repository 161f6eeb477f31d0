using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Distributed;

/// <summary>
/// A CPU tensor's memory as an MPI buffer: which tensors qualify (on the CPU, contiguous, of a type
/// MPI reduces), where their first element is, and the runs of elements one MPI call takes.
/// </summary>
internal static class TensorMemory
{
    // MPI counts are C ints. Each call also moves at most 1 GiB, so neither a call's element count nor
    // its byte count exceeds a 32-bit int; one more call per GiB is nothing next to moving the GiB.
    private const long MaxBytesPerCall = 1L << 30;

    /// <summary>The most elements of <paramref name="tensor"/> one MPI call takes.</summary>
    internal static long ElementsPerCall(Tensor tensor, string operation) => MaxBytesPerCall / ElementBytes(tensor, operation);

    /// <summary>Throws an <see cref="ArgumentException"/> that says what to do unless MPI can work on <paramref name="tensor"/>'s memory in place.</summary>
    internal static void Check(Tensor tensor, string operation)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.device_type != DeviceType.CPU)
        {
            throw new ArgumentException(
                $"{operation} works on tensors in host memory; this one is on {tensor.device}. Stage a GPU tensor through the host: " +
                "copy it to the CPU (into pinned memory, for a fast copy), reduce that copy, and copy the result back. " +
                "This binding never hands device memory to MPI (docs/distributed.md).",
                nameof(tensor));
        }

        if (!tensor.is_contiguous())
        {
            throw new ArgumentException(
                $"{operation} works in place on a tensor's memory as one flat buffer, so the tensor must be contiguous; this one, of shape " +
                $"[{string.Join(", ", tensor.shape)}] and strides [{string.Join(", ", tensor.stride())}], is not (a channels-last gradient, " +
                "a transposed view or a strided slice). Reduce a contiguous buffer that holds the values: one flat tensor for all gradients.",
                nameof(tensor));
        }

        _ = ElementBytes(tensor, operation);
    }

    internal static int ElementBytes(Tensor tensor, string operation)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return tensor.dtype switch
        {
            ScalarType.Float32 => sizeof(float),
            ScalarType.Float64 => sizeof(double),
            ScalarType.Int64 => sizeof(long),
            _ => throw new ArgumentException($"{operation} works on float32, float64 and int64 tensors; this one is {tensor.dtype}.", nameof(tensor)),
        };
    }

    /// <summary>Calls <paramref name="call"/> with the address and count of each run of at most <paramref name="maxElementsPerCall"/> elements.</summary>
    internal static void ForEachChunk(Tensor tensor, long maxElementsPerCall, Action<IntPtr, int> call)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxElementsPerCall, 1);
        maxElementsPerCall = Math.Min(maxElementsPerCall, int.MaxValue);
        long elements = tensor.numel();
        if (elements == 0)
        {
            return;
        }

        int elementBytes = ElementBytes(tensor, "");
        IntPtr first = FirstElementAddress(tensor);
        for (long done = 0; done < elements; done += maxElementsPerCall)
        {
            call(first + (nint)(done * elementBytes), (int)Math.Min(maxElementsPerCall, elements - done));
        }

        // The tensor owns the memory MPI was writing: it must not be collected before the last call returns.
        GC.KeepAlive(tensor);
    }

    /// <summary>The address of a CPU tensor's first element: its storage's start plus its offset into the storage.</summary>
    private static IntPtr FirstElementAddress(Tensor tensor)
    {
        // TorchSharp's storage<T>() reaches the storage through an alias tensor (a same-type to_type),
        // which the scope frees here rather than leaving it, and the storage it holds, to the GC.
        using DisposeScope scope = torch.NewDisposeScope();
        IntPtr storageStart = tensor.dtype switch
        {
            ScalarType.Float32 => StorageStart<float>(tensor),
            ScalarType.Float64 => StorageStart<double>(tensor),
            _ => StorageStart<long>(tensor),
        };
        return storageStart + (nint)(tensor.storage_offset() * ElementBytes(tensor, ""));
    }

    private static IntPtr StorageStart<T>(Tensor tensor)
        where T : unmanaged
    {
        using Storage<T> storage = tensor.storage<T>();
        return storage.data_ptr();
    }
}
