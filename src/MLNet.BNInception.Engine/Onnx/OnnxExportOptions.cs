using MLNet.BNInception.Engine.Network;

namespace MLNet.BNInception.Engine.Onnx;

/// <summary>Which outputs an exported model has.</summary>
[Flags]
public enum OnnxOutputs
{
    /// <summary>"logits": N × classes, before softmax.</summary>
    Logits = 1,

    /// <summary>"probabilities": N × classes, softmax of the logits.</summary>
    Probabilities = 2,

    /// <summary>Both.</summary>
    Both = Logits | Probabilities,
}

/// <summary>Settings of <see cref="OnnxExporter"/>; the defaults suit most runtimes.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>The lowest opset accepted.</summary>
    public const int MinimumOpset = 11;

    /// <summary>The highest opset accepted.</summary>
    public const int MaximumOpset = 17;

    /// <summary>ONNX opset version, 11 to 17. Default 13.</summary>
    public int Opset { get; init; } = 13;

    /// <summary>Fold BN into the convolutions (default true); false writes BatchNormalization nodes.</summary>
    public bool FoldBatchNorm { get; init; } = true;

    /// <summary>The outputs written. Default both logits and probabilities.</summary>
    public OnnxOutputs Outputs { get; init; } = OnnxOutputs.Both;

    /// <summary>
    /// The side of the square images the graph's input takes; null (default) is the network's
    /// <see cref="BnInceptionOptions.InputSize"/>, and the images go to the network as they are. A
    /// larger side (at most <see cref="MaximumImageSize"/>) makes the graph start by resizing each
    /// image whole to the network's side, as the engine's scorer does: antialiased bilinear, two
    /// MatMul nodes with constant weight matrices (across columns, then across rows), so that every
    /// ONNX runtime computes the same sums.
    /// </summary>
    public int? ImageSize { get; init; }

    /// <summary>The largest <see cref="ImageSize"/> accepted: the weight matrices grow with it.</summary>
    public const int MaximumImageSize = 4096;

    /// <summary>
    /// Why images of side <paramref name="imageSize"/> cannot go to a network of side
    /// <paramref name="inputSize"/> through the whole-image resize, or null when they can: the one
    /// wording of the rule, for the exporter, the ML.NET trainer's ImageSize and the tool's --size
    /// alike, each naming its own two settings.
    /// </summary>
    internal static string? ImageSizeProblem(int imageSize, int inputSize, string imageSetting = "ImageSize", string inputSetting = "InputSize") =>
        imageSize >= inputSize && imageSize <= MaximumImageSize ? null
            : $"{imageSetting} {imageSize} does not fit {inputSetting} {inputSize}: the images must be at least the network's side ({inputSize}) and at most {MaximumImageSize}.";

    /// <summary>Name of the graph's input. Default "input".</summary>
    public string InputName { get; init; } = "input";

    /// <summary>
    /// The normalisation the model was trained with, if any. Without <see cref="IncludeNormalization"/>
    /// it is documented on the input (the caller normalises); with it, it becomes Sub and Div nodes
    /// and the input takes pixels in [0, 1].
    /// </summary>
    public ImageNormalization? Normalization { get; init; }

    /// <summary>Write <see cref="Normalization"/> into the graph as nodes. Default false.</summary>
    public bool IncludeNormalization { get; init; }

    /// <summary>Class names by index, stored in the model's metadata as "class_labels" (a JSON array). Default none.</summary>
    public IReadOnlyList<string>? ClassLabels { get; init; }

    /// <summary>Name of the logits output. Default "logits".</summary>
    public string LogitsName { get; init; } = OnnxExporter.LogitsOutput;

    /// <summary>Name of the probabilities output. Default "probabilities".</summary>
    public string ProbabilitiesName { get; init; } = OnnxExporter.ProbabilitiesOutput;

    /// <summary>
    /// Shape the file for ML.NET's <c>OnnxTransformer</c> (<c>ApplyOnnxModel</c>), which runs it one
    /// row at a time: each output is declared as a vector of one value per class, with no batch
    /// dimension (the graph flattens it), so ML.NET types the column as a vector of the class count;
    /// and <see cref="ClassLabels"/> become the outputs' slot names, in the form ML.NET reads them (an
    /// <c>ai.onnx.ml</c> LabelEncoder node named <c>mlnet.{output}.SlotNames</c> with an output ML.NET
    /// skips). Needs <see cref="ClassLabels"/>. A file written this way scores one image per run.
    /// Default false.
    /// </summary>
    public bool ForMLNetOnnxTransformer { get; init; }
}
