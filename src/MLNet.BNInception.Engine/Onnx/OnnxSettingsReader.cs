using System.Globalization;
using MLNet.BNInception.Engine.Network;

namespace MLNet.BNInception.Engine.Onnx;

/// <summary>Works out the architecture and the export settings from the graph, its initializers and its metadata.</summary>
internal sealed class OnnxSettingsReader(ModelProto file, IReadOnlyDictionary<string, string> metadata, Dictionary<string, TensorProto> initializers, string source)
{
    private readonly GraphProto _graph = file.Graph;

    public (BnInceptionOptions Architecture, BatchNormalization BatchNormalization, OnnxExportOptions Settings) Read()
    {
        int opset = ReadOpset();
        (string inputName, int channels, int imageSide) = ReadInput();
        int side = ReadNetworkSide(channels, imageSide);
        int classes = ReadClasses();
        Activation activation = ReadActivation();
        NodeProto? batchNorm = _graph.Node.FirstOrDefault(node => node.OpType == "BatchNormalization");
        BatchNormalization batchNormalization = ReadBatchNormalization(hasNodes: batchNorm is not null);
        var architecture = new BnInceptionOptions
        {
            NumClasses = classes,
            InputSize = side,
            InputChannels = channels,
            BatchNorm = batchNorm is not null,
            Activation = activation,
            BatchNormEpsilon = batchNorm is null ? new BnInceptionOptions().BatchNormEpsilon : Epsilon(batchNorm),
        };
        try
        {
            architecture.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{source}: the graph describes a BN-Inception this project does not build: {e.Message}", e);
        }

        (OnnxOutputs outputs, string? logits, string? probabilities) = ReadOutputs();
        string logitsName = logits ?? Unused(OnnxExporter.LogitsOutput, inputName, probabilities);
        string probabilitiesName = probabilities ?? Unused(OnnxExporter.ProbabilitiesOutput, inputName, logitsName);
        ImageNormalization? normalization = ReadNormalization(channels);
        var settings = new OnnxExportOptions
        {
            Opset = opset,
            ImageSize = side == imageSide ? null : imageSide,
            FoldBatchNorm = batchNorm is null,
            Outputs = outputs,
            InputName = inputName,
            LogitsName = logitsName,
            ProbabilitiesName = probabilitiesName,
            Normalization = normalization,
            IncludeNormalization = normalization is not null,
            ClassLabels = ReadClassLabels(classes),
            ForMLNetOnnxTransformer = Node("logits_flat") is not null || Node("probabilities_flat") is not null,
        };
        return (architecture, batchNormalization, settings);
    }

    private InvalidDataException Layout(string what) => new(
        $"{source}: {what}; that is not a layout MLNet.BNInception's ONNX exporter writes (the file was changed, or written by a version this one does not know).");

    private NodeProto? Node(string name) => _graph.Node.FirstOrDefault(node => node.Name == name);

    private int ReadOpset()
    {
        long[] versions = file.OpsetImport.Where(opset => opset.Domain is "" or "ai.onnx").Select(opset => opset.Version).ToArray();
        if (versions.Length != 1 || versions[0] is < OnnxExportOptions.MinimumOpset or > OnnxExportOptions.MaximumOpset)
        {
            throw Layout($"it imports the default ONNX opset {(versions.Length == 0 ? "not at all" : $"as version {string.Join(", ", versions)}")}, " +
                $"where the exporter writes one version from {OnnxExportOptions.MinimumOpset} to {OnnxExportOptions.MaximumOpset}");
        }

        return (int)versions[0];
    }

    private (string Name, int Channels, int Side) ReadInput()
    {
        if (_graph.Input.Count != 1)
        {
            throw Layout($"the graph has {_graph.Input.Count} inputs, not one (the images)");
        }

        ValueInfoProto input = _graph.Input[0];
        List<DimensionProto> dims = input.Type.TensorType.Shape.Dim;
        if (input.Type.TensorType.ElemType != (int)OnnxDataType.Float || dims.Count != 4 || dims.Skip(1).Any(dim => dim.DimValue is null or < 1 or > 65536)
            || dims[2].DimValue != dims[3].DimValue)
        {
            throw Layout($"the input '{input.Name}' is not float32 N x C x S x S with fixed C and S");
        }

        int channels = (int)dims[1].DimValue!.Value, side = (int)dims[2].DimValue!.Value;
        if (metadata.TryGetValue("input_size", out string? recorded) && recorded != $"{channels}x{side}x{side}")
        {
            throw Layout($"the metadata input_size says {recorded}, but the input '{input.Name}' is N x {channels} x {side} x {side}");
        }

        return (input.Name, channels, side);
    }

    // The network's side: the input's, or where the graph starts with the whole-image resize, the
    // side its weight matrices resize to (rows S x H, columns W x S, transposed). The graph
    // comparison then checks every weight against the ones the exporter computes for these sides.
    private int ReadNetworkSide(int channels, int imageSide)
    {
        if (Node("resize_columns") is null && Node("resize_rows") is null)
        {
            return imageSide;
        }

        string described = $"the resize of {imageSide} x {imageSide} images to the network's side";
        if (!initializers.TryGetValue(OnnxExporter.ResizeRows, out TensorProto? rows) || !initializers.TryGetValue(OnnxExporter.ResizeColumns, out TensorProto? columns))
        {
            throw Layout($"it has resize nodes but not both of their weights '{OnnxExporter.ResizeRows}' and '{OnnxExporter.ResizeColumns}'");
        }

        if (rows.Dims.Count != 2 || rows.Dims[1] != imageSide || rows.Dims[0] is < 1 || rows.Dims[0] >= imageSide
            || !columns.Dims.SequenceEqual([imageSide, rows.Dims[0]]))
        {
            throw Layout($"{described} has weights '{OnnxExporter.ResizeRows}' {OnnxImporter.DescribeShape(rows.Dims)} and " +
                $"'{OnnxExporter.ResizeColumns}' {OnnxImporter.DescribeShape(columns.Dims)}, where the exporter writes S x {imageSide} and {imageSide} x S, S smaller than {imageSide}");
        }

        int side = (int)rows.Dims[0];
        if (metadata.TryGetValue("network_input_size", out string? recorded) && recorded != $"{channels}x{side}x{side}")
        {
            throw Layout($"the metadata network_input_size says {recorded}, but {described} gives {channels} x {side} x {side}");
        }

        return side;
    }

    private int ReadClasses()
    {
        long features = BnInception.Table[^1].OutChannels;
        if (!initializers.TryGetValue(OnnxImporter.ClassifierWeight, out TensorProto? fc))
        {
            throw new InvalidDataException($"{source}: the initializer '{OnnxImporter.ClassifierWeight}' (the classifier's weights, classes x {features}) is missing.");
        }

        if (fc.Dims.Count != 2 || fc.Dims[1] != features || fc.Dims[0] is < 2 or > int.MaxValue)
        {
            throw new InvalidDataException(
                $"{source}: the initializer '{OnnxImporter.ClassifierWeight}' is {OnnxImporter.DescribeShape(fc.Dims)}, where BN-Inception's classifier is classes x {features} (at least 2 classes).");
        }

        return (int)fc.Dims[0];
    }

    private Activation ReadActivation()
    {
        string? operation = Node("conv1.act")?.OpType;
        return operation switch
        {
            "Relu" => Activation.Relu,
            "Sigmoid" => Activation.Sigmoid,
            null => throw Layout("it has no node named 'conv1.act' (the first convolution's nonlinearity)"),
            _ => throw Layout($"the first convolution's nonlinearity 'conv1.act' is {operation}, not Relu or Sigmoid"),
        };
    }

    // A graph without BatchNormalization nodes is that of a network whose BN was folded or of one
    // trained without BN: only the metadata says which, so it must be there and agree with the graph.
    private BatchNormalization ReadBatchNormalization(bool hasNodes)
    {
        BatchNormalization[] possible = hasNodes
            ? [BatchNormalization.Layers]
            : [BatchNormalization.FoldedIntoConvolutions, BatchNormalization.None];
        metadata.TryGetValue("batch_norm", out string? recorded);
        foreach (BatchNormalization candidate in possible)
        {
            if (recorded == OnnxExporter.BatchNormMetadata(candidate))
            {
                return candidate;
            }
        }

        throw Layout($"the metadata batch_norm is {(recorded is null ? "missing" : $"'{recorded}'")}, where a graph {(hasNodes ? "with" : "without")} " +
            $"BatchNormalization nodes records {string.Join(" or ", possible.Select(candidate => $"'{OnnxExporter.BatchNormMetadata(candidate)}'"))}");
    }

    // ε is stored as a float; its shortest decimal form gives back the double it was written
    // from (1e-5, not 9.99999974737875e-06), so the network's options read as they were set.
    private static double Epsilon(NodeProto batchNorm)
    {
        float epsilon = batchNorm.Attribute.FirstOrDefault(attribute => attribute.Name == "epsilon")?.F ?? 1e-5f;
        return double.Parse(epsilon.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }

    private (OnnxOutputs Outputs, string? Logits, string? Probabilities) ReadOutputs()
    {
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (NodeProto node in _graph.Node)
        {
            foreach (string output in node.Output)
            {
                producers.TryAdd(output, node);
            }
        }

        OnnxOutputs outputs = 0;
        string? logits = null, probabilities = null;
        foreach (ValueInfoProto output in _graph.Output)
        {
            NodeProto? producer = producers.GetValueOrDefault(output.Name);
            switch (producer?.Name)
            {
                case "fc" or "logits_flat" when logits is null:
                    (logits, outputs) = (output.Name, outputs | OnnxOutputs.Logits);
                    break;
                case "softmax" or "probabilities_flat" when probabilities is null:
                    (probabilities, outputs) = (output.Name, outputs | OnnxOutputs.Probabilities);
                    break;
                default:
                    // ML.NET's slot names ride on outputs nothing reads; the comparison checks them.
                    if (producer?.OpType != "LabelEncoder")
                    {
                        throw Layout($"the output '{output.Name}' is {(producer is null ? "computed by no node" : $"computed by node '{producer.Name}'")}, " +
                            "not the classifier's logits or the softmax's probabilities");
                    }

                    break;
            }
        }

        return outputs == 0 ? throw Layout("the graph has neither a logits nor a probabilities output") : (outputs, logits, probabilities);
    }

    // The exporter requires distinct names for all three, used or not; an unused one only needs to be new.
    private static string Unused(string preferred, params string?[] taken)
    {
        string name = preferred;
        for (int i = 1; taken.Contains(name); i++)
        {
            name = $"{preferred}_{i}";
        }

        return name;
    }

    private ImageNormalization? ReadNormalization(int channels)
    {
        if (Node("normalize_mean") is null && Node("normalize_std") is null)
        {
            return null;
        }

        long[] shape = [1, channels, 1, 1];
        string described = $"normalisation of {channels} channel{(channels == 1 ? "" : "s")}";
        var normalization = new ImageNormalization(
            OnnxImporter.FloatValues(initializers, "normalize.mean", shape, source, described), OnnxImporter.FloatValues(initializers, "normalize.std", shape, source, described));
        try
        {
            normalization.Validate(channels);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{source}: the graph's input normalisation {normalization} is not valid: {e.Message}", e);
        }

        return normalization;
    }

    private string[]? ReadClassLabels(int classes)
    {
        if (!metadata.TryGetValue(ClassLabelsMetadata.Key, out string? json))
        {
            return null;
        }

        string[] labels = ClassLabelsMetadata.Parse(json, source);
        return labels.Length == classes
            ? labels
            : throw new InvalidDataException($"{source}: the metadata class_labels names {labels.Length} classes, but the classifier '{OnnxImporter.ClassifierWeight}' has {classes}.");
    }
}
