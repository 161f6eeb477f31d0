using System.Runtime.InteropServices;
using MLNet.BNInception.Engine.Network;
using ProtoBuf;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Onnx;

/// <summary>
/// Reads an ONNX file written by <see cref="OnnxExporter"/>, with any of its options, back into a
/// <see cref="BnInception"/>: the architecture from the graph (input channels and side from its
/// input, or the side from the resize's weights where the graph starts by resizing larger images,
/// classes from <c>fc.weight</c>, ReLU or sigmoid from the nodes, BN kept from the nodes,
/// folded or never used from the metadata <c>batch_norm</c>), every
/// weight by its initializer's name (PyTorch's state-dict keys). It is not a general ONNX reader:
/// it then writes the network it built with the settings it read and requires the file's graph to
/// be exactly that, so a file it accepts is one it reads completely, and anything else (another
/// producer, a changed or truncated file, a layout this version does not write) is refused with an
/// <see cref="InvalidDataException"/> that says why.
/// </summary>
public static class OnnxImporter
{
    /// <summary>The classifier's weights, whose shape gives the number of classes.</summary>
    internal const string ClassifierWeight = "fc.weight";

    /// <summary>Reads the file at <paramref name="path"/>; see <see cref="Import(Stream, string)"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not one our exporter wrote; the message names the path and says why.</exception>
    public static ImportedNetwork Import(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return Import(file, path);
    }

    /// <summary>
    /// Reads an ONNX model written by <see cref="OnnxExporter"/> from <paramref name="onnx"/> (to its
    /// end) into a new network in eval mode. The network takes normalised images as every
    /// <see cref="BnInception"/> does: see <see cref="ImportedNetwork.Normalization"/> for a file
    /// whose graph normalises raw pixels.
    /// </summary>
    /// <param name="onnx">The file's bytes.</param>
    /// <param name="source">Names the data in error messages (a path, say).</param>
    /// <exception cref="InvalidDataException">
    /// The data is not an ONNX model or is truncated, was written by another producer, lacks an
    /// initializer or has one of the wrong shape (the message names it and both shapes), or its graph
    /// is not what our exporter writes.
    /// </exception>
    public static ImportedNetwork Import(Stream onnx, string source = "the ONNX model")
    {
        ArgumentNullException.ThrowIfNull(onnx);
        ArgumentNullException.ThrowIfNull(source);
        ModelProto file = Parse<ModelProto>(onnx, source);
        if (file.ProducerName != OnnxExporter.ProducerName)
        {
            throw new InvalidDataException(
                file.ProducerName.Length == 0 && file.Graph.Node.Count == 0
                    ? $"{source} is not an ONNX model, or it is truncated: it holds no producer and no graph."
                    : $"{source} was written by {DescribeProducer(file.ProducerName, file.ProducerVersion)}, not by MLNet.BNInception's ONNX " +
                      $"exporter (producer '{OnnxExporter.ProducerName}'); only files that exporter writes can be imported.");
        }

        IReadOnlyDictionary<string, string> metadata = ReadMetadata(file, source);
        Dictionary<string, TensorProto> initializers = Initializers(file.Graph, source);
        (BnInceptionOptions architecture, BatchNormalization batchNormalization, OnnxExportOptions settings) =
            new OnnxSettingsReader(file, metadata, initializers, source).Read();
        foreach (TensorProto initializer in initializers.Values)
        {
            CheckHoldsItsValues(initializer, source);
        }

        string described = Describe(architecture, batchNormalization);
        BnInception network = batchNormalization == BatchNormalization.FoldedIntoConvolutions
            ? BnInception.WithFoldedBatchNorm(architecture)
            : new BnInception(architecture);
        try
        {
            LoadWeights(network, initializers, source, described);
            network.eval();
            ModelProto expected;
            try
            {
                expected = OnnxExporter.ToModelProto(network, settings);
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"{source}: its settings are not ones MLNet.BNInception's exporter writes: {e.Message}", e);
            }

            OnnxGraphComparison.Check(file.Graph, expected.Graph, source, described);
            return new ImportedNetwork(network, metadata, settings);
        }
        catch
        {
            network.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The producer name an ONNX model records (<see cref="OnnxExporter.ProducerName"/> for ours),
    /// read without building its graph, or null when <paramref name="onnx"/> is not a readable ONNX
    /// model (not protobuf, truncated, or without an IR version or a graph).
    /// </summary>
    public static string? ReadProducerName(Stream onnx)
    {
        ArgumentNullException.ThrowIfNull(onnx);
        return OnnxHeaderScanner.ReadProducerName(onnx);
    }

    /// <summary>"'name' version", or "an unnamed producer".</summary>
    internal static string DescribeProducer(string name, string version) =>
        name.Length == 0 ? "an unnamed producer" : $"'{name}'{(version.Length == 0 ? "" : $" {version}")}";

    /// <summary>Shapes as the messages write them, e.g. "64 x 3 x 7 x 7".</summary>
    internal static string DescribeShape(IEnumerable<long> dims)
    {
        string joined = string.Join(" x ", dims);
        return joined.Length == 0 ? "a scalar" : joined;
    }

    private static T Parse<T>(Stream onnx, string source)
    {
        try
        {
            return Serializer.Deserialize<T>(onnx);
        }
        catch (Exception e) when (e is ProtoException or EndOfStreamException or InvalidOperationException or OverflowException or ArgumentException)
        {
            // protobuf-net reports malformed or cut-off data with these; none of them is ours to pass on.
            throw new InvalidDataException($"{source} is not an ONNX model, or it is truncated: {e.Message}", e);
        }
    }

    private static IReadOnlyDictionary<string, string> ReadMetadata(ModelProto file, string source)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (StringStringEntryProto entry in file.MetadataProps)
        {
            if (!metadata.TryAdd(entry.Key, entry.Value))
            {
                throw new InvalidDataException($"{source}: the metadata key '{entry.Key}' appears twice; our exporter writes each once.");
            }
        }

        return metadata;
    }

    private static Dictionary<string, TensorProto> Initializers(GraphProto graph, string source)
    {
        var initializers = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (TensorProto initializer in graph.Initializer)
        {
            if (!initializers.TryAdd(initializer.Name, initializer))
            {
                throw new InvalidDataException($"{source}: two initializers are named '{initializer.Name}'.");
            }
        }

        return initializers;
    }

    // Made before a network is built from the shapes the file declares (classes from fc.weight's): a
    // file that declares a shape without holding its values would otherwise have the importer allocate
    // it, up to terabytes for a 30 KB file. With this check no allocation is larger than the file.
    private static void CheckHoldsItsValues(TensorProto initializer, string source)
    {
        (int valueSize, string type) = initializer.DataType switch
        {
            (int)OnnxDataType.Float => (sizeof(float), "float32"),
            (int)OnnxDataType.Int64 => (sizeof(long), "int64"),
            // The class labels ML.NET's transformer reads: strings, never allocated as a tensor.
            (int)OnnxDataType.String => (0, "string"),
            _ => throw new InvalidDataException(
                $"{source}: the initializer '{initializer.Name}' holds ONNX data type {initializer.DataType}; our exporter writes float32 (1), int64 (7) and string (8) only."),
        };
        if (valueSize == 0)
        {
            return;
        }

        long length = initializer.RawData?.Length ?? 0;
        long expected = initializer.Dims.Any(dim => dim < 0) ? -1 : ByteCount(initializer.Dims, valueSize);
        if (expected != length)
        {
            string take = expected < 0 ? "cannot be held" : $"take {expected}";
            throw new InvalidDataException(
                $"{source}: the initializer '{initializer.Name}' holds {length} bytes of raw data, where {DescribeShape(initializer.Dims)} {type} values {take}: " +
                "the file is damaged, or was not written by our exporter.");
        }
    }

    // The bytes of values of this shape, or -1 where that is beyond a long (no file holds as many).
    private static long ByteCount(IEnumerable<long> dims, int valueSize)
    {
        try
        {
            return dims.Aggregate((long)valueSize, (product, dim) => checked(product * dim));
        }
        catch (OverflowException)
        {
            return -1;
        }
    }

    // Every parameter and BN statistic, by its state-dict key, which is the initializer's name.
    private static void LoadWeights(BnInception network, Dictionary<string, TensorProto> initializers, string source, string described)
    {
        using IDisposable noGrad = no_grad();
        foreach ((string name, Tensor target) in network.state_dict())
        {
            // A training counter: the export leaves it out, as it does not change eval-mode results.
            if (name.EndsWith(".num_batches_tracked", StringComparison.Ordinal))
            {
                continue;
            }

            float[] values = FloatValues(initializers, name, target.shape, source, described);
            using Tensor loaded = tensor(values, target.shape);
            target.copy_(loaded);
        }
    }

    /// <summary>The float32 values of initializer <paramref name="name"/>, which must have shape <paramref name="expected"/>.</summary>
    internal static float[] FloatValues(Dictionary<string, TensorProto> initializers, string name, long[] expected, string source, string described)
    {
        if (!initializers.TryGetValue(name, out TensorProto? initializer))
        {
            throw new InvalidDataException($"{source}: the initializer '{name}' ({DescribeShape(expected)}) is missing; {described} needs it.");
        }

        if (!initializer.Dims.SequenceEqual(expected))
        {
            throw new InvalidDataException(
                $"{source}: the initializer '{name}' is {DescribeShape(initializer.Dims)}, where {described} has {DescribeShape(expected)}.");
        }

        if (initializer.DataType != (int)OnnxDataType.Float)
        {
            throw new InvalidDataException($"{source}: the initializer '{name}' holds ONNX data type {initializer.DataType}, not float32 (1).");
        }

        long count = expected.Aggregate(1L, (product, dim) => product * dim);
        int length = initializer.RawData?.Length ?? 0;
        if (length != count * sizeof(float))
        {
            throw new InvalidDataException(
                $"{source}: the initializer '{name}' holds {length} bytes of raw data, where {DescribeShape(expected)} float32 values take {count * sizeof(float)}.");
        }

        // ONNX stores raw data little-endian, as every platform .NET and libtorch run on here is.
        return MemoryMarshal.Cast<byte, float>(initializer.RawData).ToArray();
    }

    private static string Describe(BnInceptionOptions architecture, BatchNormalization batchNormalization) =>
        $"a BN-Inception for {architecture.InputChannels} x {architecture.InputSize} x {architecture.InputSize} images and {architecture.NumClasses} classes " +
        $"({batchNormalization.Describe()}, {architecture.Activation})";
}
