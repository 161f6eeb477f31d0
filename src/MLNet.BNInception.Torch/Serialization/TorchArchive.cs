using System.IO.Compression;
using System.Text;

namespace MLNet.BNInception.Torch.Serialization;

/// <summary>
/// PyTorch's zip container: <c>archive/data.pkl</c> (the pickled dict), one record per storage
/// under <c>archive/data/</c>, and <c>archive/version</c>. Records are stored uncompressed, as
/// torch.save stores them.
/// </summary>
internal static class TorchArchive
{
    public static void Write(IEnumerable<KeyValuePair<string, Tensor>> stateDict, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        List<KeyValuePair<string, Tensor>> items = stateDict.ToList();
        var names = new HashSet<string>();
        var entries = new List<PickleWriter.Entry>(items.Count);
        for (int i = 0; i < items.Count; i++)
        {
            (string name, Tensor tensor) = items[i];
            if (name is null || !names.Add(name))
            {
                throw new ArgumentException($"State-dict key '{name}' is null or appears twice.", nameof(stateDict));
            }

            ArgumentNullException.ThrowIfNull(tensor, name);
            entries.Add(new PickleWriter.Entry(name, i.ToString(System.Globalization.CultureInfo.InvariantCulture), tensor.dtype, tensor.shape));
        }

        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        WriteRecord(zip, StorageTypes.PickleRecord, PickleWriter.WriteStateDict(entries));
        for (int i = 0; i < items.Count; i++)
        {
            Tensor tensor = items[i].Value;
            var bytes = new byte[tensor.nbytes];
            tensor.CopyBytesTo(bytes); // row-major, so the strides written are the contiguous ones
            WriteRecord(zip, StorageTypes.StorageRecord(entries[i].StorageKey), bytes);
        }

        WriteRecord(zip, StorageTypes.VersionRecord, Encoding.ASCII.GetBytes(StorageTypes.FormatVersion));
    }

    /// <summary>Writes to a temporary file beside <paramref name="path"/>, then renames it, so a crash never leaves half a file.</summary>
    public static void WriteFile(IEnumerable<KeyValuePair<string, Tensor>> stateDict, string path)
    {
        string fullPath = Path.GetFullPath(path);
        string temporary = $"{fullPath}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                Write(stateDict, file);
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, fullPath, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }

    public static IReadOnlyList<KeyValuePair<string, Tensor>> Read(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek)
        {
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            stream = copy;
        }

        CheckSignature(stream, source);
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException error)
        {
            throw new InvalidDataException($"{source} is not a complete zip archive (is it truncated?): {error.Message}", error);
        }

        using (zip)
        {
            string prefix = ArchivePrefix(zip, source);
            object? top = PickleReader.Read(ReadRecord(zip, prefix + StorageTypes.PickleRecord, source), source);
            if (top is not PickleDict dict)
            {
                throw new InvalidDataException($"{source} holds {PickleReader.Describe(top)}, not a dict of tensors.");
            }

            var references = new List<KeyValuePair<string, TensorReference>>();
            Flatten(dict, "", references, source);
            return Materialise(zip, prefix, references, source);
        }
    }

    private static void CheckSignature(Stream stream, string source)
    {
        Span<byte> head = stackalloc byte[4];
        long start = stream.Position;
        int read = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        stream.Position = start;
        if (read == 0)
        {
            throw new InvalidDataException($"{source} is empty.");
        }

        if (read == 4 && head.SequenceEqual("PK\u0003\u0004"u8))
        {
            return;
        }

        if (head[0] == PickleOpcodes.Proto)
        {
            throw new InvalidDataException(
                $"{source} is in PyTorch's legacy (pre-1.6) format. Re-save it from Python with torch.save(obj, path), " +
                "leaving _use_new_zipfile_serialization at its default, True.");
        }

        throw new InvalidDataException($"{source} is not a PyTorch file: it does not start with a zip header.");
    }

    private static string ArchivePrefix(ZipArchive zip, string source)
    {
        ZipArchiveEntry? pickle = zip.Entries.FirstOrDefault(entry =>
            entry.FullName.EndsWith("/" + StorageTypes.PickleRecord, StringComparison.Ordinal) && entry.FullName.Count(c => c == '/') == 1);
        if (pickle is null)
        {
            throw new InvalidDataException($"{source} is a zip file without a data.pkl record: it was not written by torch.save.");
        }

        string prefix = pickle.FullName[..^StorageTypes.PickleRecord.Length];
        if (zip.GetEntry(prefix + "constants.pkl") is not null || zip.Entries.Any(e => e.FullName.StartsWith(prefix + "code/", StringComparison.Ordinal)))
        {
            throw new InvalidDataException(
                $"{source} is a TorchScript archive (torch.jit.save). Save the weights instead: torch.save(model.state_dict(), path).");
        }

        return prefix;
    }

    private static void Flatten(PickleDict dict, string prefix, List<KeyValuePair<string, TensorReference>> output, string source)
    {
        foreach ((object key, object? value) in dict.Items)
        {
            string name = prefix + (key as string ?? throw new InvalidDataException($"{source} has a dict key that is {PickleReader.Describe(key)}, not a string."));
            switch (value)
            {
                case TensorReference tensor:
                    output.Add(new(name, tensor));
                    break;
                case PickleDict nested:
                    Flatten(nested, name + ".", output, source);
                    break;
                default:
                    throw new InvalidDataException(
                        $"{source}: entry '{name}' is {PickleReader.Describe(value)}, not a tensor; this reader loads dictionaries of tensors.");
            }
        }
    }

    private static List<KeyValuePair<string, Tensor>> Materialise(ZipArchive zip, string prefix,
        List<KeyValuePair<string, TensorReference>> references, string source)
    {
        using DisposeScope scope = torch.NewDisposeScope();
        var storages = new Dictionary<string, Tensor>();
        var result = new List<KeyValuePair<string, Tensor>>(references.Count);
        foreach ((string name, TensorReference reference) in references)
        {
            StorageReference storage = reference.Storage;
            if (!storages.TryGetValue(storage.Key, out Tensor? flat))
            {
                byte[] bytes = ReadRecord(zip, prefix + StorageTypes.StorageRecord(storage.Key), source);
                long expected = storage.ElementCount * storage.Type.ElementSize();
                if (bytes.Length != expected)
                {
                    throw new InvalidDataException(
                        $"{source}: storage {storage.Key} has {bytes.Length} bytes but {storage.ElementCount} {storage.Type} elements need {expected}.");
                }

                flat = torch.frombuffer(bytes, storage.Type, storage.ElementCount);
                storages[storage.Key] = flat;
            }

            CheckBounds(name, reference, source);
            // Each result gets compact storage of its own: views sharing one storage in the file
            // must not alias each other once loaded, and a slice must not pin its whole storage.
            Tensor view = flat.as_strided(reference.Size, reference.Stride, reference.Offset);
            Tensor tensor = view.is_contiguous() ? view.clone() : view.contiguous();
            result.Add(new(name, tensor));
        }

        foreach (KeyValuePair<string, Tensor> pair in result)
        {
            pair.Value.DetachFromDisposeScope();
        }

        return result;
    }

    // as_strided would read outside the storage for a malformed reference; refuse it here instead.
    private static void CheckBounds(string name, TensorReference reference, string source)
    {
        if (reference.Size.Length != reference.Stride.Length || reference.Offset < 0 || reference.Size.Any(s => s < 0) || reference.Stride.Any(s => s < 0))
        {
            throw new InvalidDataException($"{source}: entry '{name}' has an invalid shape, stride or offset.");
        }

        if (reference.Size.Any(s => s == 0))
        {
            return;
        }

        long last = reference.Offset + reference.Size.Zip(reference.Stride, (size, stride) => (size - 1) * stride).Sum();
        if (last >= reference.Storage.ElementCount)
        {
            throw new InvalidDataException($"{source}: entry '{name}' reaches element {last} of a storage of {reference.Storage.ElementCount}.");
        }
    }

    private static byte[] ReadRecord(ZipArchive zip, string name, string source)
    {
        ZipArchiveEntry entry = zip.GetEntry(name) ?? throw new InvalidDataException($"{source} has no record '{name}'.");
        try
        {
            using Stream input = entry.Open();
            var bytes = new byte[entry.Length];
            input.ReadExactly(bytes);
            return bytes;
        }
        catch (Exception error) when (error is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new InvalidDataException($"{source}: record '{name}' cannot be read (is the file truncated?): {error.Message}", error);
        }
    }

    private static void WriteRecord(ZipArchive zip, string name, byte[] bytes)
    {
        ZipArchiveEntry entry = zip.CreateEntry(StorageTypes.ArchiveName + "/" + name, CompressionLevel.NoCompression);
        using Stream output = entry.Open();
        output.Write(bytes);
    }
}
