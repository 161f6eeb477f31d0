using MLNet.BNInception.Engine.Network;

namespace MLNet.BNInception.Engine.Onnx;

/// <summary>
/// A BN-Inception read back from an ONNX file of <see cref="OnnxExporter"/> by
/// <see cref="OnnxImporter"/>, with what the file says about it. Dispose it to free the network.
/// </summary>
public sealed class ImportedNetwork : IDisposable
{
    internal ImportedNetwork(BnInception model, IReadOnlyDictionary<string, string> metadata, OnnxExportOptions exportOptions)
    {
        Model = model;
        Metadata = metadata;
        ExportOptions = exportOptions;
    }

    /// <summary>
    /// The network, in eval mode, on the CPU, in the default layout, computing what the file computes
    /// (up to float rounding). <see cref="BnInception.BatchNormalization"/> says what the file holds:
    /// a file with BatchNormalization nodes gives a network with BN layers and the file's γ, β,
    /// running statistics and ε; a file with BN folded gives a network built without BN layers
    /// (<see cref="BnInceptionOptions.BatchNorm"/> false, convolutions with a bias) whose BN is
    /// <see cref="BatchNormalization.FoldedIntoConvolutions"/>; a file of a network trained without BN
    /// gives one whose BN is <see cref="BatchNormalization.None"/>.
    /// Like any <see cref="BnInception"/>, it takes normalised images and returns logits: when
    /// <see cref="Normalization"/> is not null, apply it to the pixels first.
    /// <see cref="BnInceptionOptions.Dropout"/> and <see cref="BnInceptionOptions.BatchNormMomentum"/>
    /// are the defaults, because a file does not record them and they do not change eval-mode results.
    /// </summary>
    public BnInception Model { get; }

    /// <summary>
    /// The side of the square images the file's input takes: <see cref="Model"/>'s
    /// <see cref="BnInceptionOptions.InputSize"/>, or, for a file exported with
    /// <see cref="OnnxExportOptions.ImageSize"/> larger than it, that side, which the file's graph
    /// resizes whole to the network's. The engine's scorer on <see cref="Model"/> takes images of
    /// this side too and resizes them alike.
    /// </summary>
    public int ImageSize => ExportOptions.ImageSize ?? Model.Options.InputSize;

    /// <summary>The class names by index, from the metadata key <c>class_labels</c>, or null when the file has none.</summary>
    public IReadOnlyList<string>? ClassLabels => ExportOptions.ClassLabels;

    /// <summary>
    /// The normalisation the file's graph applies to its input (written with
    /// <see cref="OnnxExportOptions.IncludeNormalization"/>), or null when the graph has none. The
    /// file takes raw pixels in [0, 1]; <see cref="Model"/> does not include these nodes, so callers
    /// apply (x − mean) / std themselves before <see cref="Model"/>. It is not folded into the first
    /// convolution because that would not be exact: the convolution pads with zeros, and a zero of
    /// the normalised image is a pixel equal to the mean, not zero, so the border pixels would change.
    /// When null, the input is what <see cref="Metadata"/>'s <c>input_normalization</c> describes.
    /// </summary>
    public ImageNormalization? Normalization => ExportOptions.IncludeNormalization ? ExportOptions.Normalization : null;

    /// <summary>Every metadata entry of the file (<c>input_size</c>, <c>input_normalization</c>, <c>batch_norm</c>, <c>class_labels</c>, …).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>
    /// The export settings the file was written with, as read from it: opset, outputs and names,
    /// normalisation, class labels, the input's image side (<see cref="OnnxExportOptions.ImageSize"/>:
    /// null when the graph has no resize), and whether it was shaped for ML.NET's OnnxTransformer.
    /// <see cref="OnnxExportOptions.FoldBatchNorm"/> is true when the file has no BatchNormalization
    /// nodes (whether a network trained without BN was exported with it true or false does not show
    /// in the file, nor change it). Exporting <see cref="Model"/> with these settings writes the same
    /// graph, weights and metadata.
    /// </summary>
    public OnnxExportOptions ExportOptions { get; }

    /// <summary>Disposes the network.</summary>
    public void Dispose() => Model.Dispose();
}
