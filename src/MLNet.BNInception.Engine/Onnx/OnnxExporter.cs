using System.Text.Json;
using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.IO;
using MLNet.BNInception.Engine.Network;
using ProtoBuf;
using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;
using static MLNet.BNInception.Engine.Onnx.OnnxGraphWriter;

namespace MLNet.BNInception.Engine.Onnx;

/// <summary>
/// Writes a BN-Inception as a standard ONNX model (eval mode) with a dynamic batch dimension, so
/// that other runtimes score it as we do. BN is folded into the convolutions by default. Ceil-mode
/// max pooling is written as floor-mode pooling with explicit end padding (max pooling ignores
/// padding), which every ONNX runtime reads the same way, old ones without ceil_mode included.
/// With <see cref="OnnxExportOptions.ImageSize"/> larger than the network's side, the graph takes
/// larger images and starts with the scorer's whole-image resize.
/// </summary>
public static class OnnxExporter
{
    /// <summary>Name of the logits output.</summary>
    public const string LogitsOutput = "logits";

    /// <summary>Name of the probabilities output.</summary>
    public const string ProbabilitiesOutput = "probabilities";

    /// <summary>The ProducerName of every file this exporter writes, by which <see cref="OnnxImporter"/> knows them.</summary>
    public const string ProducerName = "MLNet.BNInception";

    private const string MLDomain = "ai.onnx.ml";

    /// <summary>Writes the model to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    public static void Export(BnInception model, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.Write(path, file => Export(model, file, options), flushToDisk: false);
    }

    /// <summary>Writes the model to <paramref name="stream"/>.</summary>
    /// <exception cref="ArgumentException">A setting cannot be exported; the message says which.</exception>
    public static void Export(BnInception model, Stream stream, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(stream);
        Serializer.Serialize(stream, ToModelProto(model, options ?? new OnnxExportOptions()));
    }

    /// <summary>The model as it is written; <see cref="OnnxImporter"/> also builds it, to compare a file's graph with what we write.</summary>
    internal static ModelProto ToModelProto(BnInception model, OnnxExportOptions options)
    {
        Validate(model.Options, options);
        bool fold = options.FoldBatchNorm && model.Options.BatchNorm;
        BnInception source = fold ? BatchNormFolding.Fold(model) : model;
        try
        {
            return BuildModel(source, options);
        }
        finally
        {
            if (fold)
            {
                source.Dispose();
            }
        }
    }

    private static void Validate(BnInceptionOptions model, OnnxExportOptions options)
    {
        if (options.Opset is < OnnxExportOptions.MinimumOpset or > OnnxExportOptions.MaximumOpset)
        {
            throw new ArgumentException(
                $"Opset {options.Opset} is not supported: choose {OnnxExportOptions.MinimumOpset} to {OnnxExportOptions.MaximumOpset} (default 13).", nameof(options));
        }

        if ((options.Outputs & OnnxOutputs.Both) == 0)
        {
            throw new ArgumentException("Outputs must include logits, probabilities or both.", nameof(options));
        }

        if (options.ClassLabels is not null && options.ClassLabels.Count != model.NumClasses)
        {
            throw new ArgumentException($"{options.ClassLabels.Count} class labels were given for a model of {model.NumClasses} classes.", nameof(options));
        }

        if (options.IncludeNormalization && options.Normalization is null)
        {
            throw new ArgumentException("IncludeNormalization needs Normalization to be set.", nameof(options));
        }

        if (options.ImageSize is int imageSize && OnnxExportOptions.ImageSizeProblem(imageSize, model.InputSize) is string imageSizeProblem)
        {
            throw new ArgumentException($"{imageSizeProblem} Null or {model.InputSize} exports without a resize.", nameof(options));
        }

        options.Normalization?.Validate(model.InputChannels);
        string[] names = [options.InputName, options.LogitsName, options.ProbabilitiesName];
        if (names.Any(string.IsNullOrWhiteSpace) || names.Distinct(StringComparer.Ordinal).Count() != names.Length)
        {
            throw new ArgumentException(
                $"The input and output names must be distinct and not empty: input '{options.InputName}', logits '{options.LogitsName}', " +
                $"probabilities '{options.ProbabilitiesName}'.", nameof(options));
        }

        if (options.ForMLNetOnnxTransformer && options.ClassLabels is null)
        {
            throw new ArgumentException("ForMLNetOnnxTransformer needs ClassLabels: they become the outputs' slot names.", nameof(options));
        }
    }

    private static ModelProto BuildModel(BnInception network, OnnxExportOptions options)
    {
        BnInceptionOptions architecture = network.Options;
        var writer = new OnnxGraphWriter(("input", options.InputName), ("logits", options.LogitsName), ("probabilities", options.ProbabilitiesName));
        string x = options.InputName;
        int imageSize = options.ImageSize ?? architecture.InputSize;
        if (imageSize != architecture.InputSize)
        {
            x = Resize(writer, x, imageSize, architecture.InputSize);
        }

        if (options.IncludeNormalization)
        {
            x = Normalize(writer, x, options.Normalization!);
        }

        Dictionary<string, ConvolutionBlock> modules = network.Blocks().ToDictionary(block => block.Name, block => block.Block);
        long side = architecture.InputSize;
        (x, side) = Block(writer, "conv1", modules["conv1"], x, side);        // N x 64 x 112 x 112
        (x, side) = MaxPoolCeil(writer, "pool1", x, side);                                // N x 64 x 56 x 56
        (x, side) = Block(writer, "conv2_reduce", modules["conv2_reduce"], x, side);
        (x, side) = Block(writer, "conv2", modules["conv2"], x, side);        // N x 192 x 56 x 56
        (x, side) = MaxPoolCeil(writer, "pool2", x, side);                                // N x 192 x 28 x 28
        foreach (InceptionSpec spec in BnInception.Table)
        {
            (x, side) = Inception(writer, "inception_" + spec.Name, spec, modules, x, side);
        }

        x = writer.Node("GlobalAveragePool", "global_pool", [x]);                        // N x 1024 x 1 x 1
        x = writer.Node("Flatten", "flatten", [x], Int("axis", 1));                       // N x 1024
        Linear fc = network.Classifier;
        bool wantLogits = options.Outputs.HasFlag(OnnxOutputs.Logits);
        bool flatten = options.ForMLNetOnnxTransformer;
        string logits = writer.NodeWithOutput("Gemm", "fc", [x, writer.Initializer("fc.weight", fc.weight), writer.Initializer("fc.bias", fc.bias!)],
            wantLogits && !flatten ? options.LogitsName : writer.InternalName("fc_output"), Int("transB", 1));
        if (wantLogits && flatten)
        {
            writer.NodeWithOutput("Reshape", "logits_flat", [logits, writer.Int64Initializer("flat_shape", -1)], options.LogitsName);
        }

        if (options.Outputs.HasFlag(OnnxOutputs.Probabilities))
        {
            string probabilities = writer.NodeWithOutput("Softmax", "softmax", [logits], flatten ? writer.InternalName("softmax_output") : options.ProbabilitiesName, Int("axis", 1));
            if (flatten)
            {
                writer.NodeWithOutput("Reshape", "probabilities_flat", [probabilities, writer.Int64Initializer("flat_shape", -1)], options.ProbabilitiesName);
            }
        }

        return Describe(writer.Graph, architecture, network.BatchNormalization, options);
    }

    /// <summary>
    /// The metadata <c>batch_norm</c> of a graph of a network with <paramref name="batchNormalization"/>.
    /// A folded network and one trained without BN write the same nodes, so the importer reads this
    /// to tell them apart.
    /// </summary>
    internal static string BatchNormMetadata(BatchNormalization batchNormalization) => batchNormalization switch
    {
        BatchNormalization.Layers => "BatchNormalization nodes",
        BatchNormalization.FoldedIntoConvolutions => "folded into Conv",
        _ => "none: trained without batch normalization",
    };

    private static ModelProto Describe(GraphProto graph, BnInceptionOptions architecture, BatchNormalization batchNormalization, OnnxExportOptions options)
    {
        int channels = architecture.InputChannels, size = options.ImageSize ?? architecture.InputSize, classes = architecture.NumClasses;
        string normalization = options.Normalization is null
            ? "pixels as the model was trained on them (no normalisation recorded)"
            : options.IncludeNormalization
                ? $"pixels in [0, 1]; the graph normalises them as {options.Normalization}"
                : $"pixels normalised per channel as {options.Normalization}";
        string resized = size == architecture.InputSize ? ""
            : $", resized whole to the network's {architecture.InputSize} x {architecture.InputSize} (antialiased bilinear) by the graph";
        graph.Input.Add(FloatValue(options.InputName, $"float32 images, N x {channels} x {size} x {size} (NCHW), {normalization}{resized}", "N", channels, size, size));
        var outputs = new List<string>();
        object[] dims = options.ForMLNetOnnxTransformer ? [classes] : ["N", classes];
        string shape = options.ForMLNetOnnxTransformer ? "classes (one row per run)" : "N x classes";
        if (options.Outputs.HasFlag(OnnxOutputs.Logits))
        {
            graph.Output.Add(FloatValue(options.LogitsName, $"class scores before softmax, {shape}", dims));
            outputs.Add(options.LogitsName);
        }

        if (options.Outputs.HasFlag(OnnxOutputs.Probabilities))
        {
            graph.Output.Add(FloatValue(options.ProbabilitiesName, $"softmax probabilities, {shape}", dims));
            outputs.Add(options.ProbabilitiesName);
        }

        if (options.ForMLNetOnnxTransformer)
        {
            foreach (string output in outputs)
            {
                AddMLNetSlotNames(graph, output, options.ClassLabels!);
            }
        }

        var model = new ModelProto
        {
            IrVersion = IrVersion(options.Opset),
            ProducerName = OnnxExporter.ProducerName,
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0",
            DocString = "BN-Inception (Ioffe and Szegedy, 2015) exported by MLNet.BNInception.",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Version = options.Opset });
        if (options.ForMLNetOnnxTransformer)
        {
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = MLDomain, Version = 2 });
        }
        model.MetadataProps.Add(new StringStringEntryProto { Key = "input_size", Value = $"{channels}x{size}x{size}" });
        if (size != architecture.InputSize)
        {
            model.MetadataProps.Add(new StringStringEntryProto { Key = "network_input_size", Value = $"{channels}x{architecture.InputSize}x{architecture.InputSize}" });
        }

        model.MetadataProps.Add(new StringStringEntryProto { Key = "input_normalization", Value = normalization });
        model.MetadataProps.Add(new StringStringEntryProto { Key = "batch_norm", Value = BatchNormMetadata(batchNormalization) });
        if (options.ClassLabels is not null)
        {
            model.MetadataProps.Add(new StringStringEntryProto { Key = "class_labels", Value = JsonSerializer.Serialize(options.ClassLabels) });
        }

        return model;
    }

    // ML.NET's OnnxTransformer gives an output column slot names when the graph has a node named
    // mlnet.{output}.SlotNames with a keys_strings attribute; this is the form ML.NET's own ONNX
    // export writes: a LabelEncoder from a constant string to an output ML.NET leaves unread.
    private static void AddMLNetSlotNames(GraphProto graph, string output, IReadOnlyList<string> labels)
    {
        string prefix = $"mlnet.{output}";
        var one = new TensorProto { Name = $"{prefix}.SlotNames", DataType = (int)OnnxDataType.String };
        one.Dims.AddRange([1, 1]);
        one.StringData.Add("one"u8.ToArray());
        graph.Initializer.Add(one);
        var node = new NodeProto { OpType = "LabelEncoder", Domain = MLDomain, Name = $"{prefix}.SlotNames" };
        node.Input.Add(one.Name);
        node.Output.Add($"{prefix}.unusedOutput");
        var keys = new AttributeProto { Name = "keys_strings", Type = AttributeType.Strings };
        keys.Strings.AddRange(labels.Select(label => System.Text.Encoding.UTF8.GetBytes(label)));
        var values = new AttributeProto { Name = "values_int64s", Type = AttributeType.Ints };
        values.Ints.AddRange(Enumerable.Range(0, labels.Count).Select(i => (long)i));
        node.Attribute.AddRange([keys, values]);
        graph.Node.Add(node);
        var unused = new ValueInfoProto { Name = $"{prefix}.unusedOutput", DocString = "read by nothing: carries ML.NET's slot names" };
        unused.Type.TensorType.ElemType = (int)OnnxDataType.Int64;
        unused.Type.TensorType.Shape.Dim.AddRange([new DimensionProto { DimValue = 1 }, new DimensionProto { DimValue = 1 }]);
        graph.Output.Add(unused);
    }

    // The IR version of the ONNX release that introduced each opset, the lowest a reader must know.
    private static long IrVersion(int opset) => opset switch
    {
        11 => 6,
        <= 14 => 7,
        _ => 8,
    };

    /// <summary>The names of the resize's weight initializers: columns W × S (transposed), rows S × H.</summary>
    internal const string ResizeColumns = "resize.columns", ResizeRows = "resize.rows";

    // The engine's whole-image resize (WholeImageResize) as two MatMul nodes, with its own weights
    // computed on the CPU in float32: x [N, C, H, W] times the columns' transpose [W, S] gives
    // [N, C, H, S]; the rows [S, H] times that (MatMul broadcasts a matrix over N and C) give
    // [N, C, S, S]. Resizing before normalising is exact up to rounding, as every weight row sums to one.
    private static string Resize(OnnxGraphWriter writer, string x, long imageSize, long networkSize)
    {
        using DisposeScope scope = NewDisposeScope();
        (Tensor rows, Tensor columns) = Training.WholeImageResize.Weights(imageSize, imageSize, networkSize, ScalarType.Float32, CPU);
        x = writer.Node("MatMul", "resize_columns", [x, writer.Initializer(ResizeColumns, columns.t())]);
        return writer.Node("MatMul", "resize_rows", [writer.Initializer(ResizeRows, rows), x]);
    }

    private static string Normalize(OnnxGraphWriter writer, string x, ImageNormalization normalization)
    {
        int channels = normalization.Channels;
        using Tensor mean = tensor(normalization.Mean.ToArray(), [1, channels, 1, 1]);
        using Tensor std = tensor(normalization.Std.ToArray(), [1, channels, 1, 1]);
        x = writer.Node("Sub", "normalize_mean", [x, writer.Initializer("normalize.mean", mean)]);
        return writer.Node("Div", "normalize_std", [x, writer.Initializer("normalize.std", std)]);
    }

    private static (string Output, long Side) Block(OnnxGraphWriter writer, string name, ConvolutionBlock block, string x, long side)
    {
        Conv2d conv = block.Conv;
        long k = conv.kernel_size[0], stride = conv.stride[0], pad = conv.padding![0];
        var inputs = new List<string> { x, writer.Initializer(name + ".conv.weight", conv.weight) };
        if (conv.bias is not null)
        {
            inputs.Add(writer.Initializer(name + ".conv.bias", conv.bias));
        }

        x = writer.Node("Conv", name + ".conv", inputs, Ints("kernel_shape", k, k), Ints("strides", stride, stride),
            Ints("pads", pad, pad, pad, pad), Ints("dilations", 1, 1), Int("group", 1));
        if (block.Bn is { } bn)
        {
            x = writer.Node("BatchNormalization", name + ".bn",
                [x, writer.Initializer(name + ".bn.weight", bn.weight!), writer.Initializer(name + ".bn.bias", bn.bias!),
                 writer.Initializer(name + ".bn.running_mean", bn.running_mean!), writer.Initializer(name + ".bn.running_var", bn.running_var!)],
                Float("epsilon", (float)bn.eps));
        }

        x = writer.Node(block.Activation == Activation.Relu ? "Relu" : "Sigmoid", name + ".act", [x]);
        return (x, ((side + (2 * pad) - k) / stride) + 1);
    }

    // PyTorch's ceil-mode 3x3/2 max pooling as floor-mode pooling padded at the end just enough to
    // produce the extra window; max pooling never picks the padding.
    private static (string Output, long Side) MaxPoolCeil(OnnxGraphWriter writer, string name, string x, long side)
    {
        long output = ((side - 3 + 1) / 2) + 1; // ceil((side - 3) / 2) + 1
        long padEnd = ((output - 1) * 2) + 3 - side;
        x = writer.Node("MaxPool", name, [x], Ints("kernel_shape", 3, 3), Ints("strides", 2, 2), Ints("pads", 0, 0, padEnd, padEnd));
        return (x, output);
    }

    private static (string Output, long Side) Inception(OnnxGraphWriter writer, string name, InceptionSpec spec,
        Dictionary<string, ConvolutionBlock> modules, string x, long side)
    {
        ConvolutionBlock Part(string part) => modules[$"{name}.{part}"];
        var branches = new List<string>();
        long outputSide = side;
        if (spec.Out1x1 > 0)
        {
            branches.Add(Block(writer, $"{name}.branch1x1", Part("branch1x1"), x, side).Output);
        }

        (string reduced, long reducedSide) = Block(writer, $"{name}.branch3x3_reduce", Part("branch3x3_reduce"), x, side);
        (string branch3x3, outputSide) = Block(writer, $"{name}.branch3x3", Part("branch3x3"), reduced, reducedSide);
        branches.Add(branch3x3);

        (string doubleReduced, long doubleSide) = Block(writer, $"{name}.double3x3_reduce", Part("double3x3_reduce"), x, side);
        (string first, long firstSide) = Block(writer, $"{name}.double3x3_1", Part("double3x3_1"), doubleReduced, doubleSide);
        branches.Add(Block(writer, $"{name}.double3x3_2", Part("double3x3_2"), first, firstSide).Output);

        switch (spec.Pool)
        {
            case InceptionPool.Average:
                // Stride-1 average pooling that counts the padding, as PyTorch's count_include_pad=True.
                string averaged = writer.Node("AveragePool", $"{name}.pool", [x], Ints("kernel_shape", 3, 3), Ints("strides", 1, 1),
                    Ints("pads", 1, 1, 1, 1), Int("count_include_pad", 1));
                branches.Add(Block(writer, $"{name}.pool_proj", Part("pool_proj"), averaged, side).Output);
                break;
            case InceptionPool.Max:
                string maxed = writer.Node("MaxPool", $"{name}.pool", [x], Ints("kernel_shape", 3, 3), Ints("strides", 1, 1), Ints("pads", 1, 1, 1, 1));
                branches.Add(Block(writer, $"{name}.pool_proj", Part("pool_proj"), maxed, side).Output);
                break;
            default:
                branches.Add(MaxPoolCeil(writer, $"{name}.pool", x, side).Output);
                break;
        }

        return (writer.Node("Concat", name + ".concat", branches, Int("axis", 1)), outputSide);
    }
}
