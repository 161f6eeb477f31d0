using TorchSharp;
using static TorchSharp.torch;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using MLNet.BNInception.Engine.IO;

namespace MLNet.BNInception.Engine.Interop;

/// <summary>
/// PyTorch's zip container: <c>archive/data.pkl</c> (the pickled dict), one record per storage
/// under <c>archive/data/</c>, and <c>archive/version</c>. Records are stored uncompressed, as
/// torch.save stores them. A writer may add records of its own beside these (extra records):
/// torch.load reads data.pkl, the storages it names and its own bookkeeping records, and ignores
/// any other record in the folder.
/// </summary>
internal static class TorchArchive
{
    /// <param name="stateDict">The named tensors, pickled as a dict into data.pkl.</param>
    /// <param name="stream">Where the archive is written; it stays open.</param>
    /// <param name="extraRecords">
    /// Records of the caller's own, by name (a file name in the archive's folder that is not one of
    /// PyTorch's), for <see cref="Reader.ReadExtraRecord"/> to read back; null for none.
    /// </param>
    public static void Write(IEnumerable<KeyValuePair<string, Tensor>> stateDict, Stream stream, IReadOnlyDictionary<string, byte[]>? extraRecords = null)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        ArgumentNullException.ThrowIfNull(stream);
        foreach (string name in extraRecords?.Keys ?? [])
        {
            CheckExtraRecordName(name);
        }

        // Everything is checked before the first byte is written, so a bad entry cannot leave half an archive in the stream.
        List<KeyValuePair<string, Tensor>> items = stateDict.ToList();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var entries = new List<PickleWriter.Entry>(items.Count);
        for (int i = 0; i < items.Count; i++)
        {
            (string name, Tensor tensor) = items[i];
            if (name is null || !names.Add(name))
            {
                throw new ArgumentException($"State-dict key '{name}' is null or appears twice.", nameof(stateDict));
            }

            if (tensor is null || tensor.IsInvalid)
            {
                throw new ArgumentException($"State-dict entry '{name}' has no tensor: it is null or disposed.", nameof(stateDict));
            }

            if (!StorageTypes.IsSaved(tensor.dtype))
            {
                throw new NotSupportedException(
                    $"State-dict entry '{name}' holds {tensor.dtype} values, which this writer does not save in PyTorch's format; " +
                    $"convert it to one of {StorageTypes.SavedTypes} first.");
            }

            // The reader's limit too; TorchSharp hands out a tensor's bytes as a span of at most 2 GB.
            long byteCount = tensor.numel() * tensor.ElementSize;
            if (byteCount > Array.MaxLength)
            {
                throw new NotSupportedException(
                    $"State-dict entry '{name}' has {byteCount} bytes; PyTorch-format files are written and read with tensors of up to {Array.MaxLength} bytes.");
            }

            string storageKey = i.ToString(CultureInfo.InvariantCulture);
            entries.Add(new PickleWriter.Entry(name, storageKey, tensor.dtype, tensor.shape));
        }

        using var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true);
        WriteRecord(zip, StorageTypes.PickleRecord, PickleWriter.WriteStateDict(entries));
        for (int i = 0; i < items.Count; i++)
        {
            // Row-major, which is what the contiguous strides in data.pkl promise, whatever the
            // tensor's own layout (channels-last, a view) or device. The scope frees the detached
            // and CPU handles as well as the copy, rather than leaving them to the finalizer.
            using DisposeScope scope = NewDisposeScope();
            Tensor compact = items[i].Value.detach().cpu().contiguous();
            WriteRecord(zip, StorageTypes.StorageRecord(entries[i].StorageKey), compact.bytes);
        }

        foreach ((string name, byte[] bytes) in extraRecords ?? new Dictionary<string, byte[]>())
        {
            WriteRecord(zip, name, bytes);
        }

        WriteRecord(zip, StorageTypes.VersionRecord, Encoding.ASCII.GetBytes(StorageTypes.FormatVersion));
    }

    /// <summary>Writes to a temporary file beside <paramref name="path"/>, then renames it, so a crash never leaves half a file.</summary>
    public static void WriteFile(IEnumerable<KeyValuePair<string, Tensor>> stateDict, string path, IReadOnlyDictionary<string, byte[]>? extraRecords = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        AtomicFile.Write(path, file => Write(stateDict, file, extraRecords), flushToDisk: true);
    }

    public static List<KeyValuePair<string, Tensor>> Read(Stream stream, string source)
    {
        using Reader archive = Reader.Open(stream, source);
        return archive.ReadStateDict();
    }

    /// <summary>
    /// An archive open for reading, checked to be one torch.save could have written, for a caller
    /// that reads an extra record as well as the state dict from one opening of the file.
    /// </summary>
    public sealed class Reader : IDisposable
    {
        private readonly ZipArchive _zip;
        private readonly string _prefix;
        private readonly string _source;

        private Reader(ZipArchive zip, string prefix, string source)
        {
            _zip = zip;
            _prefix = prefix;
            _source = source;
        }

        /// <summary>Opens the archive in <paramref name="stream"/> (left open); <paramref name="source"/> names it in error messages.</summary>
        /// <exception cref="InvalidDataException">The stream does not hold a torch.save archive; the message says why.</exception>
        public static Reader Open(Stream stream, string source)
        {
            ArgumentNullException.ThrowIfNull(stream);
            if (!stream.CanSeek)
            {
                // A zip archive is read from its end (the central directory), so it needs a seekable stream.
                var copy = new MemoryStream();
                stream.CopyTo(copy);
                copy.Position = 0;
                stream = copy;
            }

            CheckSignature(stream, source);
            ZipArchive zip = TorchArchive.Open(stream, source);
            try
            {
                string prefix = ArchivePrefix(zip, source);
                CheckByteOrder(zip, prefix, source);
                return new Reader(zip, prefix, source);
            }
            catch
            {
                zip.Dispose();
                throw;
            }
        }

        /// <summary>The bytes of the extra record <paramref name="name"/> (checksum checked), or null when the archive has none of that name.</summary>
        public byte[]? ReadExtraRecord(string name) =>
            _zip.GetEntry(_prefix + name) is null ? null : ReadRecord(_zip, _prefix + name, _source);

        /// <summary>
        /// Whether the pickle record holds <paramref name="text"/> as a pickled string (a dict key, say),
        /// found by the bytes of its opcodes, without running the pickle: cheap, and safe on any file.
        /// False when the record is larger than <paramref name="limit"/> bytes.
        /// </summary>
        /// <exception cref="InvalidDataException">The record cannot be read, or is corrupt.</exception>
        public bool PickleHoldsString(string text, long limit)
        {
            string name = _prefix + StorageTypes.PickleRecord;
            if (_zip.GetEntry(name) is not { } entry || entry.Length > limit)
            {
                return false;
            }

            byte[] pickle = ReadRecord(_zip, name, _source);
            byte[] utf8 = Encoding.UTF8.GetBytes(text);
            var length = new byte[sizeof(long)];
            BinaryPrimitives.WriteInt64LittleEndian(length, utf8.Length);

            // BINUNICODE (a 4-byte length: torch.save's protocol 2, and this writer's), BINUNICODE8 (an
            // 8-byte length) and SHORT_BINUNICODE (a 1-byte length, protocol 4 and later).
            List<byte[]> forms = [[PickleOpcodes.BinUnicode, .. length.AsSpan(0, sizeof(int)), .. utf8], [PickleOpcodes.BinUnicode8, .. length, .. utf8]];
            if (utf8.Length <= byte.MaxValue)
            {
                forms.Add([PickleOpcodes.ShortBinUnicode, (byte)utf8.Length, .. utf8]);
            }

            return forms.Any(form => pickle.AsSpan().IndexOf(form) >= 0);
        }

        /// <summary>The state dict; see <see cref="PyTorchStateDict.Load(string)"/>.</summary>
        public List<KeyValuePair<string, Tensor>> ReadStateDict()
        {
            object? top = PickleReader.Read(ReadRecord(_zip, _prefix + StorageTypes.PickleRecord, _source), _source);
            return StateDictLoader.Load(top, storage => ReadStorage(_zip, _prefix, storage, _source),
                storage => _zip.GetEntry(_prefix + StorageTypes.StorageRecord(storage.Key))?.CompressedLength ?? 0, _source);
        }

        /// <summary>Closes the archive (not the stream it was opened on).</summary>
        public void Dispose() => _zip.Dispose();
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

        // A local file header, or the end record of an archive with no files at all.
        if (read == 4 && (head.SequenceEqual("PK\u0003\u0004"u8) || head.SequenceEqual("PK\u0005\u0006"u8)))
        {
            return;
        }

        // The legacy format is a bare pickle stream that starts with the pickled magic number.
        if (head[0] == PickleOpcodes.Proto)
        {
            throw new InvalidDataException(
                $"{source} is in PyTorch's legacy (pre-1.6) format, which this reader does not read. Re-save it from Python " +
                "with torch.save(obj, path) in PyTorch 1.6 or later, leaving _use_new_zipfile_serialization at its default, True.");
        }

        throw new InvalidDataException($"{source} is not a PyTorch file: it does not start with a zip header.");
    }

    private static ZipArchive Open(Stream stream, string source)
    {
        ZipArchive? zip = null;
        try
        {
            zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            _ = zip.Entries.Count; // the central directory is read lazily; its errors belong here, not in the first lookup
            return zip;
        }
        catch (Exception error) when (error is InvalidDataException or IOException or ArgumentException or NotSupportedException)
        {
            zip?.Dispose();
            throw new InvalidDataException($"{source} is not a complete zip archive (is it truncated?): {error.Message}", error);
        }
    }

    // torch.save names the top folder 'archive' in recent versions but after the file's stem in
    // 1.13 (weights.pt -> weights/), so the folder is found from the data.pkl record's position.
    private static string ArchivePrefix(ZipArchive zip, string source)
    {
        ZipArchiveEntry? pickle = zip.Entries.FirstOrDefault(entry =>
            entry.FullName.EndsWith("/" + StorageTypes.PickleRecord, StringComparison.Ordinal) && entry.FullName.Count(c => c == '/') == 1);
        if (pickle is null)
        {
            throw new InvalidDataException($"{source} is a zip file without a data.pkl record: it was not written by torch.save.");
        }

        string prefix = pickle.FullName[..^StorageTypes.PickleRecord.Length];
        if (zip.GetEntry(prefix + StorageTypes.TorchScriptConstantsRecord) is not null ||
            zip.Entries.Any(entry => entry.FullName.StartsWith(prefix + StorageTypes.TorchScriptCodeFolder, StringComparison.Ordinal)))
        {
            throw new InvalidDataException(
                $"{source} is a TorchScript archive (torch.jit.save), not a torch.save file. " +
                "Save the weights instead: torch.save(model.state_dict(), path).");
        }

        return prefix;
    }

    // PyTorch 2.1 and later record the writer's byte order; older files are little-endian, like every machine they run on.
    private static void CheckByteOrder(ZipArchive zip, string prefix, string source)
    {
        if (zip.GetEntry(prefix + StorageTypes.ByteOrderRecord) is null)
        {
            return;
        }

        string order = Encoding.ASCII.GetString(ReadRecord(zip, prefix + StorageTypes.ByteOrderRecord, source)).Trim();
        if (order != StorageTypes.LittleEndian)
        {
            throw new InvalidDataException($"{source} was written with '{order}' byte order; this reader reads little-endian files only.");
        }
    }

    private static byte[] ReadStorage(ZipArchive zip, string prefix, StorageReference storage, string source)
    {
        string name = prefix + StorageTypes.StorageRecord(storage.Key);
        ZipArchiveEntry entry = zip.GetEntry(name) ?? throw new InvalidDataException($"{source} has no record '{name}'.");

        // The size is checked before anything is allocated, so a corrupt count cannot ask for gigabytes.
        long expected = storage.ElementCount >= 0 && storage.ElementCount <= long.MaxValue / storage.Type.ElementSize()
            ? storage.ElementCount * storage.Type.ElementSize()
            : -1;
        if (entry.Length != expected)
        {
            throw new InvalidDataException(
                $"{source}: storage record '{name}' has {entry.Length} bytes but {storage.ElementCount} {storage.Type} elements need " +
                (expected < 0 ? "an impossible size." : $"{expected}."));
        }

        return ReadRecord(zip, name, source);
    }

    private static byte[] ReadRecord(ZipArchive zip, string name, string source)
    {
        ZipArchiveEntry entry = zip.GetEntry(name) ?? throw new InvalidDataException($"{source} has no record '{name}'.");
        if (entry.Length > Array.MaxLength)
        {
            throw new InvalidDataException($"{source}: record '{name}' has {entry.Length} bytes; this reader handles records up to 2 GB.");
        }

        var bytes = new byte[entry.Length];
        try
        {
            using Stream input = entry.Open();
            input.ReadExactly(bytes);
        }
        catch (Exception error) when (error is InvalidDataException or IOException or NotSupportedException)
        {
            throw new InvalidDataException($"{source}: record '{name}' cannot be read (is the file truncated?): {error.Message}", error);
        }

        CheckCrc(entry, bytes, source);
        return bytes;
    }

    // A CRC of zero is taken as "not computed", as recent PyTorch versions can be told to skip computing it.
    private static void CheckCrc(ZipArchiveEntry entry, byte[] bytes, string source)
    {
        if (entry.Crc32 != 0 && Crc32.Compute(bytes) != entry.Crc32)
        {
            throw new InvalidDataException($"{source}: record '{entry.FullName}' is corrupt: its bytes do not match the checksum stored with them.");
        }
    }

    private static void WriteRecord(ZipArchive zip, string name, ReadOnlySpan<byte> bytes)
    {
        ZipArchiveEntry entry = zip.CreateEntry(StorageTypes.ArchiveName + "/" + name, CompressionLevel.NoCompression);
        using Stream output = entry.Open();
        output.Write(bytes);
    }

    // A plain file name beside data.pkl, so that it neither lands outside the folder torch.load
    // requires every record to be in nor takes the place of a name PyTorch uses there.
    private static void CheckExtraRecordName(string name)
    {
        string[] pyTorchNames = [StorageTypes.PickleRecord, StorageTypes.StorageFolder, StorageTypes.VersionRecord, StorageTypes.ByteOrderRecord,
            StorageTypes.TorchScriptConstantsRecord, StorageTypes.TorchScriptCodeFolder.TrimEnd('/'), ".data", ".format_version", ".storage_alignment"];
        if (string.IsNullOrEmpty(name) || name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal) || pyTorchNames.Contains(name))
        {
            throw new ArgumentException(
                $"'{name}' cannot name an extra record: give a file name without '/' that is none of PyTorch's ({string.Join(", ", pyTorchNames)}).", "extraRecords");
        }
    }
}
