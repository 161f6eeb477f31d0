using MLNet.BNInception.Imaging;
using MLNet.BNInception.Models;
using MLNet.BNInception.Transforms;
using MLNet.BNInception.Transforms.Image;

namespace MLNet.BNInception;

/// <summary>Data transforms (ML.NET's <c>TransformsCatalog</c> with the image analytics extensions).</summary>
public sealed class TransformsCatalog
{
    private readonly MLContext _context;

    internal TransformsCatalog(MLContext context)
    {
        _context = context;
        Conversion = new ConversionTransforms();
    }

    /// <summary>Key mapping.</summary>
    public ConversionTransforms Conversion { get; }

    /// <summary>
    /// Decodes the image files named in <paramref name="inputColumnName"/> (paths relative to
    /// <paramref name="imageFolder"/>) with OpenCV: JPEG, PNG, BMP and the other formats its codecs read;
    /// always 8-bit BGR (gray is replicated, alpha dropped, 16-bit scaled), EXIF orientation applied.
    /// </summary>
    /// <param name="outputColumnName">The image column to add.</param>
    /// <param name="imageFolder">Folder of relative paths; null for the current directory.</param>
    /// <param name="inputColumnName">The text column of paths; <paramref name="outputColumnName"/> when null.</param>
    /// <param name="onInvalidImage">A missing, unreadable or corrupt image fails with its row and path (default), or its row is skipped and counted.</param>
    public ImageTransformEstimator<ImageLoadingTransformer> LoadImages(string outputColumnName, string? imageFolder, string? inputColumnName = null,
        InvalidImagePolicy onInvalidImage = InvalidImagePolicy.Fail) =>
        new(new ImageLoadingTransformer(_context, outputColumnName, imageFolder, inputColumnName ?? outputColumnName, onInvalidImage));

    /// <summary>Reads image files' bytes without decoding them, as a byte vector.</summary>
    public ImageTransformEstimator<ImageBytesLoadingTransformer> LoadRawImageBytes(string outputColumnName, string? imageFolder, string? inputColumnName = null) =>
        new(new ImageBytesLoadingTransformer(outputColumnName, imageFolder, inputColumnName ?? outputColumnName));

    /// <summary>
    /// Resizes images to <paramref name="imageWidth"/> × <paramref name="imageHeight"/>; by default keeping
    /// the aspect ratio and cropping the centre (ML.NET's defaults), with area averaging when shrinking.
    /// </summary>
    public ImageTransformEstimator<ImageResizingTransformer> ResizeImages(string outputColumnName, int imageWidth, int imageHeight, string? inputColumnName = null,
        ResizingKind resizing = ResizingKind.IsoCrop, Anchor cropAnchor = Anchor.Center, ResizeFilter filter = ResizeFilter.Auto) =>
        new(new ImageResizingTransformer(outputColumnName, imageWidth, imageHeight, inputColumnName ?? outputColumnName, resizing, cropAnchor, filter));

    /// <summary>Converts images to gray (one 8-bit channel).</summary>
    public ImageTransformEstimator<ImageGrayscalingTransformer> ConvertToGrayscale(string outputColumnName, string? inputColumnName = null) =>
        new(new ImageGrayscalingTransformer(outputColumnName, inputColumnName ?? outputColumnName));

    /// <summary>
    /// Extracts pixels into a vector, with ML.NET's defaults: red, green, blue planes (channels × height ×
    /// width), values <c>(pixel − offsetImage) × scaleImage</c> as floats. <paramref name="normalization"/>
    /// then applies a per-channel mean and std, e.g. <see cref="ImageNormalization.ImageNet"/> with
    /// <c>scaleImage: 1f / 255</c>.
    /// </summary>
    public ImageTransformEstimator<ImagePixelExtractingTransformer> ExtractPixels(string outputColumnName, string? inputColumnName = null,
        ColorBits colorsToExtract = ColorBits.Rgb, ColorsOrder orderOfExtraction = ColorsOrder.ARGB, bool interleavePixelColors = false,
        float offsetImage = 0f, float scaleImage = 1f, bool outputAsFloatArray = true, ImageNormalization? normalization = null) =>
        new(new ImagePixelExtractingTransformer(outputColumnName, inputColumnName ?? outputColumnName, colorsToExtract, orderOfExtraction,
            interleavePixelColors, offsetImage, scaleImage, outputAsFloatArray, normalization));

    /// <summary>Type conversions: values to keys and back.</summary>
    public sealed class ConversionTransforms
    {
        internal ConversionTransforms()
        {
        }

        /// <summary>
        /// Numbers the distinct values of <paramref name="inputColumnName"/> as keys 1…n, in order of first
        /// occurrence by default or sorted (<see cref="KeyOrdinality.ByValue"/>); <paramref name="keyData"/>
        /// fixes the values and their order instead.
        /// </summary>
        public ValueToKeyMappingEstimator MapValueToKey(string outputColumnName, string? inputColumnName = null, int maximumNumberOfKeys = 1_000_000,
            KeyOrdinality keyOrdinality = KeyOrdinality.ByOccurrence, IReadOnlyList<string>? keyData = null) =>
            new(outputColumnName, inputColumnName, maximumNumberOfKeys, keyOrdinality, keyData);

        /// <summary>Maps keys back to their values (text).</summary>
        public KeyToValueMappingEstimator MapKeyToValue(string outputColumnName, string? inputColumnName = null) => new(outputColumnName, inputColumnName);
    }
}
