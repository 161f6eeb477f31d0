using System.Text.Json.Nodes;
using MLNet.BNInception.Data;
using MLNet.BNInception.Models;

namespace MLNet.BNInception.Transforms.Image;

/// <summary>Which colour channels <see cref="ImagePixelExtractingTransformer"/> extracts (ML.NET's flags).</summary>
[Flags]
public enum ColorBits : byte
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>Alpha; this library's images have none, so it reads 255.</summary>
    Alpha = 0x01,

    /// <summary>Red.</summary>
    Red = 0x02,

    /// <summary>Green.</summary>
    Green = 0x04,

    /// <summary>Blue.</summary>
    Blue = 0x08,

    /// <summary>Red, green and blue (the default).</summary>
    Rgb = Red | Green | Blue,

    /// <summary>Every channel.</summary>
    All = Alpha | Red | Green | Blue,
}

/// <summary>The order in which extracted channels are laid out (ML.NET's names; channels not extracted are skipped).</summary>
public enum ColorsOrder : byte
{
    /// <summary>Alpha, red, green, blue (the default: RGB planes for RGB).</summary>
    ARGB = 1,

    /// <summary>Alpha, red, blue, green.</summary>
    ARBG = 2,

    /// <summary>Alpha, blue, red, green.</summary>
    ABRG = 3,

    /// <summary>Alpha, blue, green, red (BGR planes for RGB, as OpenCV/Caffe models expect).</summary>
    ABGR = 4,

    /// <summary>Alpha, green, red, blue.</summary>
    AGRB = 5,

    /// <summary>Alpha, green, blue, red.</summary>
    AGBR = 6,
}

/// <summary>
/// Turns images into a pixel vector (ML.NET's <c>ExtractPixels</c>): planar (channels × height ×
/// width) by default, each value <c>(pixel − offsetImage) × scaleImage</c>, then, when a
/// normalisation is given, <c>(value − mean[c]) / std[c]</c> per channel. A gray image gives the same
/// value for red, green and blue.
/// </summary>
public sealed class ImagePixelExtractingTransformer : OneToOneColumnTransformer, ISummarizedStep
{
    internal const string KindName = "ExtractPixels";

    internal ImagePixelExtractingTransformer(string outputColumnName, string inputColumnName, ColorBits colorsToExtract, ColorsOrder orderOfExtraction,
        bool interleavePixelColors, float offsetImage, float scaleImage, bool outputAsFloatArray, ImageNormalization? normalization)
        : base(outputColumnName, inputColumnName)
    {
        if ((colorsToExtract & ColorBits.All) == 0 || (colorsToExtract & ~ColorBits.All) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(colorsToExtract), colorsToExtract, "extract at least one of alpha, red, green, blue");
        }

        if (!Enum.IsDefined(orderOfExtraction))
        {
            throw new ArgumentOutOfRangeException(nameof(orderOfExtraction), orderOfExtraction, "unknown order");
        }

        if (scaleImage == 0 || !float.IsFinite(scaleImage) || !float.IsFinite(offsetImage))
        {
            throw new ArgumentOutOfRangeException(nameof(scaleImage), "the scale must be finite and non-zero, the offset finite");
        }

        ColorsToExtract = colorsToExtract;
        OrderOfExtraction = orderOfExtraction;
        InterleavePixelColors = interleavePixelColors;
        OffsetImage = offsetImage;
        ScaleImage = scaleImage;
        OutputAsFloatArray = outputAsFloatArray;
        Normalization = normalization;
        ChannelOrder = [.. OrderOfExtraction.ToString().Select(letter => letter switch
        {
            'A' => ColorBits.Alpha,
            'R' => ColorBits.Red,
            'G' => ColorBits.Green,
            _ => ColorBits.Blue,
        }).Where(bit => (colorsToExtract & bit) != 0)];
        if (normalization is not null)
        {
            if (!outputAsFloatArray)
            {
                throw new ArgumentException("a normalisation needs float output", nameof(normalization));
            }

            normalization.Validate(Planes);
        }
    }

    /// <summary>The channels extracted.</summary>
    public ColorBits ColorsToExtract { get; }

    /// <summary>Their order.</summary>
    public ColorsOrder OrderOfExtraction { get; }

    /// <summary>True for height × width × channels; false (default) for planar channels × height × width.</summary>
    public bool InterleavePixelColors { get; }

    /// <summary>Subtracted from each pixel first.</summary>
    public float OffsetImage { get; }

    /// <summary>Then multiplied.</summary>
    public float ScaleImage { get; }

    /// <summary>Float output (default); false gives raw bytes and ignores offset and scale.</summary>
    public bool OutputAsFloatArray { get; }

    /// <summary>Per-channel mean and std applied last, in the extracted channel order; null for none.</summary>
    public ImageNormalization? Normalization { get; }

    /// <summary>The number of channels extracted.</summary>
    public int Planes => ChannelOrder.Length;

    private ColorBits[] ChannelOrder { get; }

    /// <summary>
    /// The whole mapping from 0–255 pixel values to the output as one normalisation:
    /// mean′ = offset + mean / scale, std′ = std / scale (what an ONNX consumer must apply to raw pixels).
    /// </summary>
    internal ImageNormalization RawPixelNormalization()
    {
        float[] mean = new float[Planes], std = new float[Planes];
        for (int c = 0; c < Planes; c++)
        {
            float m = Normalization?.Mean[c] ?? 0, s = Normalization?.Std[c] ?? 1;
            mean[c] = OutputAsFloatArray ? OffsetImage + (m / ScaleImage) : 0;
            std[c] = OutputAsFloatArray ? s / ScaleImage : 1;
        }

        return new ImageNormalization(mean, std);
    }

    private protected override string Kind => KindName;

    /// <inheritdoc/>
    public override IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ImageDataViewType image = ImageColumns.RequireType<ImageDataViewType>(input.Schema, InputColumnName, "ExtractPixels", "an image column");
        if (image.Height == 0)
        {
            throw new ArgumentException($"ExtractPixels: the images in column '{InputColumnName}' have no fixed size; resize them first (ResizeImages)");
        }

        int height = image.Height, width = image.Width;
        PrimitiveDataViewType item = OutputAsFloatArray ? NumberDataViewType.Single : NumberDataViewType.Byte;
        var type = InterleavePixelColors ? new VectorDataViewType(item, height, width, Planes) : new VectorDataViewType(item, Planes, height, width);
        return new MappedDataView(input, [new AddedColumn(OutputColumnName, type, null, [InputColumnName], row =>
        {
            ValueGetter<MLImage> getter = row.GetGetter<MLImage>(row.Schema[InputColumnName]);
            if (OutputAsFloatArray)
            {
                return (ValueGetter<VBuffer<float>>)((ref VBuffer<float> value) =>
                {
                    MLImage source = null!;
                    getter(ref source);
                    value = new VBuffer<float>(ExtractFloats(source, height, width, row.Position));
                });
            }

            return (ValueGetter<VBuffer<byte>>)((ref VBuffer<byte> value) =>
            {
                MLImage source = null!;
                getter(ref source);
                value = new VBuffer<byte>(ExtractBytes(source, height, width, row.Position));
            });
        })]);
    }

    private int SourceOffset(ColorBits channel, int channels) => channel switch
    {
        ColorBits.Blue => 0,
        ColorBits.Green => channels == 1 ? 0 : 1,
        ColorBits.Red => channels == 1 ? 0 : 2,
        _ => -1,
    };

    private void Check(MLImage source, int height, int width, long row)
    {
        if (source.Height != height || source.Width != width)
        {
            throw new InvalidDataException($"ExtractPixels: row {row}: the image is {source.Width}x{source.Height}, the column says {width}x{height}");
        }
    }

    private float[] ExtractFloats(MLImage source, int height, int width, long row)
    {
        Check(source, height, width, row);
        byte[] pixels = source.Image.Pixels;
        int channels = source.Image.Channels, count = height * width;
        var values = new float[Planes * count];
        for (int plane = 0; plane < Planes; plane++)
        {
            int offset = SourceOffset(ChannelOrder[plane], channels);
            float mean = Normalization?.Mean[plane] ?? 0, inverseStd = 1 / (Normalization?.Std[plane] ?? 1);
            for (int i = 0; i < count; i++)
            {
                float pixel = offset < 0 ? 255 : pixels[(i * channels) + offset];
                float value = (((pixel - OffsetImage) * ScaleImage) - mean) * inverseStd;
                values[InterleavePixelColors ? (i * Planes) + plane : (plane * count) + i] = value;
            }
        }

        return values;
    }

    private byte[] ExtractBytes(MLImage source, int height, int width, long row)
    {
        Check(source, height, width, row);
        byte[] pixels = source.Image.Pixels;
        int channels = source.Image.Channels, count = height * width;
        var values = new byte[Planes * count];
        for (int plane = 0; plane < Planes; plane++)
        {
            int offset = SourceOffset(ChannelOrder[plane], channels);
            for (int i = 0; i < count; i++)
            {
                values[InterleavePixelColors ? (i * Planes) + plane : (plane * count) + i] = offset < 0 ? (byte)255 : pixels[(i * channels) + offset];
            }
        }

        return values;
    }

    void ISummarizedStep.AddSummary(JsonObject manifest)
    {
        // What a consumer of the weights must do to raw 0–255 pixels: (pixel − mean) / std per channel.
        ImageNormalization raw = RawPixelNormalization();
        manifest["normalization"] = new JsonObject
        {
            ["column"] = OutputColumnName,
            ["channels"] = new JsonArray([.. ChannelOrder.Select(channel => JsonValue.Create(channel.ToString()))]),
            ["layout"] = InterleavePixelColors ? "HWC" : "CHW",
            ["rawPixelMean"] = new JsonArray([.. raw.Mean.Select(v => JsonValue.Create(v))]),
            ["rawPixelStd"] = new JsonArray([.. raw.Std.Select(v => JsonValue.Create(v))]),
        };
    }

    private protected override JsonObject SaveSettings(ModelSaveContext context) => new()
    {
        ["outputColumnName"] = OutputColumnName,
        ["inputColumnName"] = InputColumnName,
        ["colorsToExtract"] = (int)ColorsToExtract,
        ["orderOfExtraction"] = OrderOfExtraction.ToString(),
        ["interleavePixelColors"] = InterleavePixelColors,
        ["offsetImage"] = OffsetImage,
        ["scaleImage"] = ScaleImage,
        ["outputAsFloatArray"] = OutputAsFloatArray,
        ["normalization"] = Normalization is null ? null : new JsonObject
        {
            ["mean"] = new JsonArray([.. Normalization.Mean.Select(v => JsonValue.Create(v))]),
            ["std"] = new JsonArray([.. Normalization.Std.Select(v => JsonValue.Create(v))]),
        },
    };

    internal static ImagePixelExtractingTransformer Load(JsonObject settings, ModelLoadContext context)
    {
        ImageNormalization? normalization = settings["normalization"] is JsonObject n
            ? new ImageNormalization(context.Deserialize<float[]>(n, "mean"), context.Deserialize<float[]>(n, "std"))
            : null;
        return new ImagePixelExtractingTransformer(context.String(settings, "outputColumnName"), context.String(settings, "inputColumnName"),
            (ColorBits)context.Int(settings, "colorsToExtract"), context.Enum<ColorsOrder>(settings, "orderOfExtraction"),
            context.Bool(settings, "interleavePixelColors"), context.Float(settings, "offsetImage"), context.Float(settings, "scaleImage"),
            context.Bool(settings, "outputAsFloatArray"), normalization);
    }
}
