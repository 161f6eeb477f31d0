using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Interop;

/// <summary>
/// Turns the dict read from data.pkl into named tensors: nested dicts are flattened with '.', and
/// each tensor is cut out of its storage into compact memory of its own.
/// </summary>
internal static class StateDictLoader
{
    // Far deeper than any real checkpoint; a dict that contains itself (possible through the
    // pickle's memo) reaches it instead of recursing until the process dies.
    private const int MaxDepth = 64;

    /// <param name="top">The dict data.pkl holds.</param>
    /// <param name="readStorage">Reads a storage's bytes.</param>
    /// <param name="storedBytes">The bytes a storage's record takes in the file (less than its size when compressed).</param>
    /// <param name="source">The file, for messages.</param>
    public static List<KeyValuePair<string, Tensor>> Load(object? top, Func<StorageReference, byte[]> readStorage, Func<StorageReference, long> storedBytes,
        string source)
    {
        if (top is not PickleDict dict)
        {
            throw new InvalidDataException($"{source} holds {PickleReader.Describe(top)}, not a dict of tensors.");
        }

        var references = new List<KeyValuePair<string, TensorReference>>();
        Flatten(dict, "", 0, references, new HashSet<string>(StringComparer.Ordinal), source);
        long loadedBytes = 0;
        foreach ((string name, TensorReference reference) in references)
        {
            loadedBytes = SaturatingAdd(loadedBytes, CheckBounds(name, reference, source));
        }

        CheckExpansion(references, loadedBytes, storedBytes, source);
        return Materialise(references, readStorage);
    }

    // Views may repeat their storage's elements (a stride of 0, overlapping slices), and each loaded
    // tensor gets memory of its own: a file of a few hundred bytes could otherwise ask for terabytes
    // before anything else about it is checked. Real state dicts view each element a few times at
    // most (shared weights, a buffer saved beside its slices). The bound is on the bytes the file
    // holds, not on the storages' sizes: a compressed record of zeros is small in the file and large once read.
    private const long MaxExpansion = 4;
    private const long ExpansionAllowanceBytes = 64L << 20;

    private static void CheckExpansion(List<KeyValuePair<string, TensorReference>> references, long loadedBytes, Func<StorageReference, long> storedBytes,
        string source)
    {
        long inFile = references.Select(pair => pair.Value.Storage).Distinct().Aggregate(0L, (sum, storage) => SaturatingAdd(sum, Math.Max(0, storedBytes(storage))));
        if (loadedBytes > SaturatingAdd(SaturatingMultiply(inFile, MaxExpansion), ExpansionAllowanceBytes))
        {
            throw new InvalidDataException(
                $"{source}: its tensors would take {loadedBytes} bytes once loaded, from {inFile} bytes of storage in the file; views that " +
                $"repeat their storage's elements (a stride of 0), or compressed storage, more than {MaxExpansion} times over are refused: " +
                "this is not a state dict of weights.");
        }
    }

    private static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

    private static long SaturatingMultiply(long a, long b) => a != 0 && b > long.MaxValue / a ? long.MaxValue : a * b;

    private static void Flatten(PickleDict dict, string prefix, int depth, List<KeyValuePair<string, TensorReference>> output,
        HashSet<string> names, string source)
    {
        if (depth > MaxDepth)
        {
            throw new InvalidDataException($"{source}: entry '{prefix.TrimEnd('.')}' nests dicts more than {MaxDepth} deep (or contains itself).");
        }

        foreach ((object key, object? value) in dict.Items)
        {
            string name = prefix + (key as string ?? throw new InvalidDataException(
                $"{source}: {(prefix.Length == 0 ? "the top-level dict" : $"entry '{prefix.TrimEnd('.')}'")} has a key that is " +
                $"{PickleReader.Describe(key)}, not a string."));
            switch (value)
            {
                case TensorReference tensor:
                    if (!names.Add(name))
                    {
                        throw new InvalidDataException($"{source}: two entries are named '{name}' once nested dicts are joined with '.'.");
                    }

                    output.Add(new(name, tensor));
                    break;
                case PickleDict nested:
                    Flatten(nested, name + ".", depth + 1, output, names, source);
                    break;
                default:
                    throw new InvalidDataException(
                        $"{source}: entry '{name}' is {PickleReader.Describe(value)}, not a tensor; this reader loads dictionaries of tensors only.");
            }
        }
    }

    // as_strided would reach outside the storage for a malformed reference; it is refused before any
    // storage is read. Returns the bytes the tensor takes once loaded.
    private static long CheckBounds(string name, TensorReference reference, string source)
    {
        long[] size = reference.Size, stride = reference.Stride;
        if (size.Length != stride.Length || reference.Offset < 0 || size.Any(s => s < 0) || stride.Any(s => s < 0))
        {
            throw new InvalidDataException($"{source}: entry '{name}' has an invalid size, stride or offset.");
        }

        try
        {
            checked
            {
                long count = reference.Storage.Type.ElementSize();
                long last = reference.Offset;
                for (int i = 0; i < size.Length; i++)
                {
                    count *= size[i];
                    last += size[i] == 0 ? 0 : (size[i] - 1) * stride[i];
                }

                if (count > 0 && last >= reference.Storage.ElementCount)
                {
                    throw new InvalidDataException(
                        $"{source}: entry '{name}' reaches element {last} of a storage of {reference.Storage.ElementCount}.");
                }

                return count;
            }
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"{source}: entry '{name}' has a size or stride too large for any tensor.");
        }
    }

    private static List<KeyValuePair<string, Tensor>> Materialise(List<KeyValuePair<string, TensorReference>> references,
        Func<StorageReference, byte[]> readStorage)
    {
        // On an exception the scope disposes every tensor made so far, results included.
        using DisposeScope scope = NewDisposeScope();

        // A storage is read once however many tensors view it, and released after its last one,
        // so memory peaks at the tensors plus one storage rather than twice the file.
        Dictionary<StorageReference, int> usesLeft = references.CountBy(pair => pair.Value.Storage).ToDictionary();
        var storages = new Dictionary<StorageReference, Tensor>();
        var result = new List<KeyValuePair<string, Tensor>>(references.Count);
        foreach ((string name, TensorReference reference) in references)
        {
            StorageReference storage = reference.Storage;
            if (!storages.TryGetValue(storage, out Tensor? flat))
            {
                flat = FromBytes(readStorage(storage), storage.Type, storage.ElementCount);
                storages[storage] = flat;
            }

            // Each result gets compact memory of its own: views that share a storage in the file
            // must not alias each other once loaded, and a slice must not pin its whole storage.
            // contiguous() alone would return the view itself when it is already contiguous.
            using (Tensor view = flat.as_strided(reference.Size, reference.Stride, reference.Offset))
            {
                result.Add(new(name, view.is_contiguous() ? view.clone() : view.contiguous()));
            }

            if (--usesLeft[storage] == 0)
            {
                flat.Dispose();
                storages.Remove(storage);
            }
        }

        // Like any new tensor, the results belong to the caller's scope if one is open.
        foreach (KeyValuePair<string, Tensor> pair in result)
        {
            pair.Value.MoveToOuterDisposeScope();
        }

        return result;
    }

    // A tensor of its own holding a copy of the bytes (frombuffer would alias the managed array).
    private static Tensor FromBytes(byte[] bytes, ScalarType type, long count)
    {
        Tensor flat = empty([count], type);
        if (count > 0)
        {
            flat.bytes = bytes;
        }

        return flat;
    }
}
