using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.ML;
using MLNet.BNInception.Engine.Onnx;
using MLNet.BNInception.Scoring;

namespace MLNet.BNInception.ModelFiles;

/// <summary>
/// Reads the BN-Inception back out of an ML.NET model file (<c>mlContext.Model.Save</c>) of a
/// pipeline holding this package's trainer, to score with the engine (in batches, BN folded,
/// channels-last, with <c>BnInceptionScorer</c>) instead of the saved chain's OnnxTransformer, which
/// runs one row at a time; and loads such a file with ML.NET (<see cref="Load(MLContext, string, out DataViewSchema)"/>),
/// loading again when ONNX Runtime misread ML.NET's temporary copy of the network, deleting the
/// copies a failed load leaves, and saying what failed.
/// <para>
/// ML.NET keeps model loading internal, so this reads the file's format, not ML.NET's objects. The
/// trainer's model is saved as an <c>OnnxTransformer</c> holding our ONNX export (see
/// <see cref="BnInceptionPredictionTransformer.Save"/>), and this relies on how OnnxTransformer
/// stores its model in ML.NET 5 and 6 (the same format): the model file is a zip, and each OnnxTransformer keeps its ONNX
/// model in an entry named <c>…/OnnxModel</c> (with <c>\</c> when saved on Windows), an Int32 length
/// followed by that many bytes (ML.NET's <c>WriteByteArray</c>). Of the ONNX models in the file, the
/// one whose producer is MLNet.BNInception is read, with <see cref="OnnxImporter"/>. Should a later
/// ML.NET store it otherwise, reading fails with an <see cref="InvalidDataException"/> that says what
/// was expected, rather than returning a wrong network.
/// </para>
/// </summary>
public static class BnInceptionModelFile
{
    private const string EntryName = "OnnxModel";
    private const string Expected = "a model file saved (mlContext.Model.Save) from a pipeline holding BN-Inception's trainer";

    /// <summary>
    /// The network of the BN-Inception in the ML.NET model file at <paramref name="modelZipPath"/>,
    /// in eval mode, in the form it is saved in (BN folded into the convolutions, or none when it was
    /// trained without: <see cref="Engine.Network.BnInception.BatchNormalization"/> says which), with the class names
    /// (<see cref="ImportedNetwork.ClassLabels"/>, the order of the Score column's slots). It takes a
    /// batch of the pipeline's feature column as it reaches the trainer (N × C × S × S, planar pixels
    /// as <c>ExtractPixels</c> writes them, no further normalisation, S the network's side) and
    /// returns logits; their softmax is the Score column. A model trained with an ImageSize larger
    /// than its InputSize saves a file that takes the larger images (<see cref="ImportedNetwork.ImageSize"/>)
    /// and resizes them; the network returned takes its own side, and the engine's scorer on it
    /// takes the larger images and resizes them alike. Dispose the result to free the network.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// The file is not a zip, holds no OnnxTransformer model, holds none or several written by
    /// BN-Inception, or that model is damaged; the message names the file and the entry.
    /// </exception>
    public static ImportedNetwork ReadNetwork(string modelZipPath)
    {
        (byte[] onnx, string entry) = Find(modelZipPath);
        return OnnxImporter.Import(new MemoryStream(onnx, writable: false), $"{modelZipPath}, entry '{entry}'");
    }

    /// <summary>
    /// The ONNX model of the BN-Inception in the ML.NET model file at <paramref name="modelZipPath"/>,
    /// as the saved <c>OnnxTransformer</c> runs it (BN folded, softmax at the end, shaped for ML.NET:
    /// see <see cref="OnnxExportOptions.ForMLNetOnnxTransformer"/>), for an ONNX runtime to score
    /// batches with.
    /// </summary>
    /// <exception cref="InvalidDataException">As for <see cref="ReadNetwork"/>.</exception>
    public static byte[] ReadOnnxModel(string modelZipPath) => Find(modelZipPath).Onnx;

    /// <summary>
    /// As <see cref="ReadOnnxModel(string)"/>, from a model file the caller has open: the stream
    /// <c>mlContext.Model.Load</c> read the pipeline from, say, so that the pipeline and its network
    /// come from one opening of the file, and so from the same bytes even when the file is replaced
    /// in between. The whole stream is the zip file; it must be seekable, and it is left open.
    /// </summary>
    /// <param name="modelZip">The model file's bytes.</param>
    /// <param name="source">Names the file in error messages (its path, say).</param>
    /// <exception cref="InvalidDataException">As for <see cref="ReadNetwork"/>.</exception>
    public static byte[] ReadOnnxModel(Stream modelZip, string source)
    {
        ArgumentNullException.ThrowIfNull(modelZip);
        ArgumentNullException.ThrowIfNull(source);
        return Find(modelZip, source).Onnx;
    }

    /// <summary>
    /// <c>mlContext.Model.Load</c> of the model file at <paramref name="modelZipPath"/>, loaded once
    /// more when it failed only because ONNX Runtime misread the name of ML.NET's temporary copy of
    /// the network. ML.NET 6.0.0's OnnxTransformer writes the ONNX model it loads to a file named by
    /// <c>Path.GetRandomFileName()</c>, whose three-letter extension is random, and ONNX Runtime
    /// reads a file named <c>*.ort</c> as its own ORT format and refuses it ("ORT model verification
    /// failed"): one load in 32,768 of a sound file fails so. The second load draws another name.
    /// A load that fails deletes the copies of the network it left in <c>MLContext.TempFilePath</c>
    /// (ML.NET's own <c>Model.Load</c> leaves them there), the first load's before the second. Dispose
    /// what it returns, as after <c>Model.Load</c>. docs/walkthrough.md, section 4, says more.
    /// </summary>
    /// <exception cref="IOException">
    /// The context's temporary folder cannot take the files ML.NET writes to load the model (it is
    /// full, or cannot be written); the message names the model file and the folder, and says to free
    /// space there or to set <c>TempFilePath</c> to another folder. The inner exception is the
    /// system's. A model file that is missing or cannot be read is thrown as <c>File.OpenRead</c> throws it.
    /// </exception>
    /// <exception cref="InvalidDataException">
    /// ML.NET cannot load the file's content: not a zip file, damaged (an entry whose bytes do not
    /// have the CRC-32 the zip records, checked here since ML.NET does not), or a network ONNX Runtime
    /// cannot read. The message names the file and the cause; the inner exception is ML.NET's. Any
    /// other failure is thrown as ML.NET threw it.
    /// </exception>
    // Workaround for the symptom of dotnet/machinelearning#7339: it can go once ML.NET names that
    // copy with an extension of its own (6.0.0 does not).
    public static ITransformer Load(MLContext mlContext, string modelZipPath, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(modelZipPath);

        // Opened as Model.Load(path) opens it, and loaded from that stream as Model.Load(path) does.
        using FileStream file = File.OpenRead(modelZipPath);
        return Load(mlContext, file, modelZipPath, out inputSchema);
    }

    /// <summary>
    /// As <see cref="Load(MLContext, string, out DataViewSchema)"/>, from a stream that holds the
    /// model file from its position on; a seekable stream is read again from that position when the
    /// load is repeated, and a stream that cannot seek is loaded once. Errors name the file of a
    /// <see cref="FileStream"/>. From a stream that cannot seek, a file that is not a zip file leaves
    /// an empty folder <c>ml_dotnet_*</c> in the temporary folder until a garbage collection
    /// finalizes ML.NET's reader of it.
    /// </summary>
    /// <exception cref="IOException">As for <see cref="Load(MLContext, string, out DataViewSchema)"/>.</exception>
    /// <exception cref="InvalidDataException">As for <see cref="Load(MLContext, string, out DataViewSchema)"/>.</exception>
    public static ITransformer Load(MLContext mlContext, Stream modelZip, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(modelZip);
        return Load(mlContext, modelZip, (modelZip as FileStream)?.Name ?? "the model stream", out inputSchema);
    }

    private static ITransformer Load(MLContext mlContext, Stream modelZip, string source, out DataViewSchema inputSchema)
    {
        if (modelZip.CanSeek)
        {
            CheckIsAnUndamagedZip(modelZip, source);
        }

        string temporaryFolder = mlContext.TempFilePath;
        DataViewSchema? schema = null;
        try
        {
            ITransformer model = LoadingAgainFromTheStartAfterAnOrtMisreading(
                modelZip, stream => ModelLoadFailures.LeavingNoCopies(temporaryFolder, () => mlContext.Model.Load(stream, out schema)));
            inputSchema = schema!;
            return model;
        }
        catch (Exception e) when (ModelLoadFailures.Explained(e, source, temporaryFolder) is { } explained)
        {
            throw explained;
        }
    }

    // ML.NET makes a folder of its own in the temporary folder before it reads the zip's directory,
    // and leaves it when that fails, until a garbage collection finalizes its reader: a file that is
    // not a zip is refused here first, read as ML.NET reads it. ML.NET checks no entry's CRC-32: a
    // damaged entry is refused here too.
    private static void CheckIsAnUndamagedZip(Stream modelZip, string source)
    {
        long start = modelZip.Position;
        (ZipArchiveEntry Entry, string Mismatch)? damaged;
        try
        {
            using ZipArchive zip = OpenZip(modelZip, source);
            try
            {
                damaged = ZipEntryChecksums.FirstMismatch(zip);
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                // Inflating an entry failed: ML.NET's own reading would have thrown this, less clearly.
                throw new InvalidDataException($"{source}: the zip file is damaged, an entry cannot be read ({e.Message}); expected {Expected}.", e);
            }
        }
        finally
        {
            modelZip.Position = start;
        }

        if (damaged is ({ } entry, string mismatch))
        {
            throw Damaged(entry, source, mismatch);
        }
    }

    private static ZipArchive OpenZip(Stream modelZip, string source)
    {
        try
        {
            return new ZipArchive(modelZip, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException e)
        {
            throw NotAZip(source, e);
        }
    }

    /// <summary>
    /// Runs <paramref name="load"/> on <paramref name="stream"/>, and once more from the position the
    /// stream had at first when it failed with ONNX Runtime's refusal of a file it took for ORT format
    /// and the stream can seek.
    /// </summary>
    internal static T LoadingAgainFromTheStartAfterAnOrtMisreading<T>(Stream stream, Func<Stream, T> load)
    {
        long start = stream.CanSeek ? stream.Position : 0;
        return LoadingAgainAfterAnOrtMisreading(
            () =>
            {
                if (stream.CanSeek)
                {
                    stream.Position = start;
                }

                return load(stream);
            },
            canLoadAgain: stream.CanSeek);
    }

    /// <summary>Runs <paramref name="load"/>, and once more when it failed with ONNX Runtime's refusal of a file it took for ORT format.</summary>
    internal static T LoadingAgainAfterAnOrtMisreading<T>(Func<T> load, bool canLoadAgain)
    {
        try
        {
            return load();
        }
        catch (InvalidOperationException error) when (canLoadAgain && IsOrtFormatMisreading(error))
        {
            return load();
        }
    }

    /// <summary>Whether <paramref name="error"/>, or an exception inside it, is ONNX Runtime's refusal of a file it read as ORT format.</summary>
    internal static bool IsOrtFormatMisreading(Exception error)
    {
        for (Exception? inner = error; inner is not null; inner = inner.InnerException)
        {
            if (inner.Message.Contains("ORT model verification failed", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static (byte[] Onnx, string Entry) Find(string modelZipPath)
    {
        ArgumentNullException.ThrowIfNull(modelZipPath);
        using FileStream file = File.OpenRead(modelZipPath);
        return Find(file, modelZipPath);
    }

    private static (byte[] Onnx, string Entry) Find(Stream modelZip, string source)
    {
        using (ZipArchive zip = OpenZip(modelZip, source))
        {
            ZipArchiveEntry[] candidates = zip.Entries.Where(IsOnnxTransformerModel).ToArray();
            if (candidates.Length == 0)
            {
                throw new InvalidDataException(
                    $"{source} holds no ONNX model (no entry named …/{EntryName}, where ML.NET's OnnxTransformer keeps its model); expected {Expected}.");
            }

            // Each candidate's producer is read as it streams past; only the one network is then read
            // whole. A file with other large entries of that name (a model of something else, or junk
            // made to look like one) costs no more memory than its network.
            var ours = new List<ZipArchiveEntry>();
            var others = new List<string>();
            foreach (ZipArchiveEntry entry in candidates)
            {
                string? producer = ReadProducerName(entry, source);
                if (producer == OnnxExporter.ProducerName)
                {
                    ours.Add(entry);
                }
                else
                {
                    others.Add($"'{entry.FullName}' ({(producer is null ? "not a readable ONNX model: damaged or truncated" : $"written by '{producer}'")})");
                }
            }

            return ours.Count switch
            {
                1 => (Read(ours[0], source)[sizeof(int)..], ours[0].FullName),
                0 => throw new InvalidDataException(
                    $"{source} holds no ONNX model written by BN-Inception, only {string.Join("; ", others)}; expected {Expected}."),
                _ => throw new InvalidDataException(
                    $"{source} holds {ours.Count} BN-Inception networks ({string.Join(", ", ours.Select(entry => $"'{entry.FullName}'"))}), " +
                    $"and cannot tell which to read; expected {Expected}, with one."),
            };
        }
    }

    // The producer of the ONNX model in the entry, read without holding the entry in memory; null when
    // it is no readable ONNX model.
    private static string? ReadProducerName(ZipArchiveEntry entry, string path)
    {
        CheckLength(entry, path);
        Span<byte> length = stackalloc byte[sizeof(int)];
        using Stream stream = entry.Open();
        try
        {
            stream.ReadExactly(length);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw Damaged(entry, path, e);
        }

        int declared = BinaryPrimitives.ReadInt32LittleEndian(length);
        if (declared != entry.Length - sizeof(int))
        {
            throw Layout(entry, path, $"it starts with the length {declared} but holds {entry.Length - sizeof(int)} bytes after it");
        }

        try
        {
            return OnnxImporter.ReadProducerName(stream);
        }
        catch (IOException e)
        {
            throw Damaged(entry, path, e);
        }
    }

    private static bool IsOnnxTransformerModel(ZipArchiveEntry entry)
    {
        string name = entry.FullName;
        return name == EntryName
            || (name.EndsWith(EntryName, StringComparison.Ordinal) && name[^(EntryName.Length + 1)] is '/' or '\\');
    }

    // The entry whole: ML.NET's WriteByteArray, an Int32 length (little-endian), then the bytes.
    private static byte[] Read(ZipArchiveEntry entry, string path)
    {
        CheckLength(entry, path);
        var content = new byte[entry.Length];
        try
        {
            using Stream stream = entry.Open();
            stream.ReadExactly(content);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw Damaged(entry, path, e);
        }

        if (ZipEntryChecksums.Mismatch(entry, content) is string mismatch)
        {
            throw Damaged(entry, path, mismatch);
        }

        int declared = BinaryPrimitives.ReadInt32LittleEndian(content);
        return declared == content.Length - sizeof(int)
            ? content
            : throw Layout(entry, path, $"it starts with the length {declared} but holds {content.Length - sizeof(int)} bytes after it");
    }

    private static void CheckLength(ZipArchiveEntry entry, string path)
    {
        if (entry.Length is < sizeof(int) or > int.MaxValue)
        {
            throw Layout(entry, path, $"it holds {entry.Length} bytes");
        }
    }

    private static InvalidDataException NotAZip(string source, InvalidDataException e) =>
        new($"{source} is not a zip file, so not an ML.NET model file; expected {Expected}.", e);

    private static InvalidDataException Damaged(ZipArchiveEntry entry, string path, Exception e) =>
        new($"{path}: the entry '{entry.FullName}' cannot be read, the zip file is damaged ({e.Message}); expected {Expected}.", e);

    private static InvalidDataException Damaged(ZipArchiveEntry entry, string path, string mismatch) =>
        new($"{path}: the entry '{entry.FullName}' is damaged: {mismatch}; expected {Expected}.");

    private static InvalidDataException Layout(ZipArchiveEntry entry, string path, string what) => new(
        $"{path}: the entry '{entry.FullName}' is not an ONNX model as ML.NET's OnnxTransformer stores it (an Int32 length, then that many bytes): {what}. " +
        $"The file is damaged, or a newer ML.NET stores its ONNX models otherwise; expected {Expected}.");
}
