using Microsoft.ML;

namespace MLNet.BNInception.Images;

/// <summary>
/// How <c>LoadImagesSafely</c> loads images: the columns, where the files are, what to do with a file that
/// cannot be loaded, how small it may decode large images, and where it reports skipped rows.
/// </summary>
public sealed record SafeImageLoadingOptions
{
    /// <summary>The column to create, of ML.NET's <see cref="Microsoft.ML.Transforms.Image.ImageDataViewType"/>. Required.</summary>
    public required string OutputColumnName { get; init; }

    /// <summary>The text column holding the image paths. Default null: the same name as <see cref="OutputColumnName"/> (whose path column the image column then hides, as in ML.NET).</summary>
    public string? InputColumnName { get; init; }

    /// <summary>The folder relative paths are looked up in; it must exist. Default null: relative paths are looked up from the current directory, absolute paths are used as they are.</summary>
    public string? ImageFolder { get; init; }

    /// <summary>What to do with a row whose image cannot be loaded. Default <see cref="InvalidImagePolicy.Fail"/>.</summary>
    public InvalidImagePolicy OnInvalidImage { get; init; } = InvalidImagePolicy.Fail;

    /// <summary>
    /// The smallest width, in pixels of the upright image, that a large image may be decoded down to. Default 0:
    /// full size. With <see cref="MinimumHeight"/> set to the size a later <c>ResizeImages</c> makes, a larger JPEG
    /// or WEBP decodes at the smallest size its codec produces while decoding that is still at least this big
    /// (JPEG: n/8 of its size, n from 1 to 8, so 1/8, 1/4, 1/2, ...; WEBP: any size), and its full-size bitmap is
    /// never held. Other formats (PNG, GIF, BMP, ICO) decode at full size. The image is not resized to exactly
    /// this: that stays the job of <c>ResizeImages</c>.
    /// </summary>
    public int MinimumWidth { get; init; }

    /// <summary>The smallest height a large image may be decoded down to; see <see cref="MinimumWidth"/>. Default 0: full size.</summary>
    public int MinimumHeight { get; init; }

    /// <summary>The default of <see cref="MaximumPixels"/>: 8192 x 8192, 64 megapixels, 256 MB of decoded pixels.</summary>
    public const long DefaultMaximumPixels = 8192L * 8192;

    /// <summary>
    /// The most pixels an image may have at the size it would decode at (after any scaling that
    /// <see cref="MinimumWidth"/> and <see cref="MinimumHeight"/> allow); a larger one is refused with
    /// <see cref="InvalidImageReason.TooManyPixels"/> from its header, before its pixels take any memory. Default
    /// <see cref="DefaultMaximumPixels"/>. A small file can declare a huge image (a 300 KB PNG can hold 16000 x 16000
    /// pixels, 1 GB decoded), and each loading thread holds up to three copies of the largest image it met.
    /// PNG, GIF and BMP images always decode at full size, so their full size counts; a JPEG or WEBP with a minimum
    /// width and height set counts at its reduced size.
    /// </summary>
    public long MaximumPixels { get; init; } = DefaultMaximumPixels;

    /// <summary>
    /// The context whose <see cref="MLContext.Log"/> receives a warning per skipped row and a summary per pass.
    /// Default null: nothing is logged (the callbacks below still run).
    /// </summary>
    /// <remarks>
    /// A catalog extension cannot reach the environment behind <c>mlContext.Transforms</c>: ML.NET keeps it
    /// internal, and this library does not reflect into ML.NET. So the context to log to is passed here; the
    /// loader registers itself with it as "LoadImagesSafely".
    /// </remarks>
    public MLContext? Log { get; init; }

    /// <summary>
    /// Called, on the cursor's thread, for each row <see cref="InvalidImagePolicy.Skip"/> drops, the first time a
    /// view meets it (later passes over the same view skip it without reporting it again). Default null.
    /// </summary>
    public Action<SkippedImage>? ImageSkipped { get; init; }

    /// <summary>
    /// Called, on the thread of the cursor that ends last, after each pass over a <see cref="InvalidImagePolicy.Skip"/>
    /// view, with how many rows it read and skipped. Default null.
    /// </summary>
    public Action<ImageLoadingPassSummary>? PassCompleted { get; init; }

    internal string ResolvedInputColumnName => InputColumnName ?? OutputColumnName;

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(OutputColumnName))
        {
            throw new ArgumentException("OutputColumnName must name the image column to create; it is empty.", nameof(OutputColumnName));
        }

        if (InputColumnName is not null && string.IsNullOrWhiteSpace(InputColumnName))
        {
            throw new ArgumentException("InputColumnName must name the text column of image paths, or be null to use OutputColumnName; it is empty.", nameof(InputColumnName));
        }

        if (!Enum.IsDefined(OnInvalidImage))
        {
            throw new ArgumentException($"OnInvalidImage {OnInvalidImage} is not one of {string.Join(", ", Enum.GetNames<InvalidImagePolicy>())}.", nameof(OnInvalidImage));
        }

        if (MinimumWidth < 0 || MinimumHeight < 0)
        {
            throw new ArgumentException($"MinimumWidth and MinimumHeight must be 0 (full size) or more, not {MinimumWidth} and {MinimumHeight}.", nameof(MinimumWidth));
        }

        if (MaximumPixels < 1)
        {
            throw new ArgumentException($"MaximumPixels must be at least 1, not {MaximumPixels}.", nameof(MaximumPixels));
        }

        if (!string.IsNullOrEmpty(ImageFolder) && !Directory.Exists(ImageFolder))
        {
            throw new DirectoryNotFoundException($"The image folder '{ImageFolder}' (full path '{Path.GetFullPath(ImageFolder)}') does not exist; pass an existing folder, or null to use the paths as they are.");
        }
    }
}
