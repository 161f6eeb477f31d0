using MLNet.BNInception.Images;
using Microsoft.ML;

namespace MLNet.BNInception;

/// <summary><c>mlContext.Transforms.LoadImagesSafely(...)</c>: ML.NET's image loading, without silent damage.</summary>
public static class SafeImageLoadingCatalog
{
    /// <summary>
    /// Loads the images named in <paramref name="inputColumnName"/> into <paramref name="outputColumnName"/>, as
    /// ML.NET's <c>LoadImages</c> does, but a file that cannot be loaded fails with its row, path and reason, or,
    /// with <see cref="InvalidImagePolicy.Skip"/>, drops its row; images are turned upright by their EXIF
    /// orientation; large JPEG and WEBP images can decode at a smaller size.
    /// </summary>
    /// <param name="catalog">The transforms catalog of the context.</param>
    /// <param name="outputColumnName">The image column to create.</param>
    /// <param name="imageFolder">The folder relative paths are looked up in; it must exist. Null: paths as they are (relative ones from the current directory).</param>
    /// <param name="inputColumnName">The text column of paths. Null (default): <paramref name="outputColumnName"/>.</param>
    /// <param name="onInvalidImage">What to do with a row whose image cannot be loaded. Default <see cref="InvalidImagePolicy.Fail"/>.</param>
    /// <param name="minimumWidth">The smallest width a large image may decode down to. Default 0: full size. See <see cref="SafeImageLoadingOptions.MinimumWidth"/>.</param>
    /// <param name="minimumHeight">The smallest height a large image may decode down to. Default 0: full size.</param>
    /// <param name="log">
    /// The context whose log receives a warning per skipped row and a summary per pass; normally the context
    /// this catalog belongs to. Default null: no log. It is a parameter because ML.NET keeps a catalog's
    /// environment internal, out of reach of an extension method.
    /// </param>
    public static SafeImageLoadingEstimator LoadImagesSafely(
        this TransformsCatalog catalog,
        string outputColumnName,
        string? imageFolder,
        string? inputColumnName = null,
        InvalidImagePolicy onInvalidImage = InvalidImagePolicy.Fail,
        int minimumWidth = 0,
        int minimumHeight = 0,
        MLContext? log = null)
        => catalog.LoadImagesSafely(new SafeImageLoadingOptions
        {
            OutputColumnName = outputColumnName,
            InputColumnName = inputColumnName,
            ImageFolder = imageFolder,
            OnInvalidImage = onInvalidImage,
            MinimumWidth = minimumWidth,
            MinimumHeight = minimumHeight,
            Log = log,
        });

    /// <summary>Loads images as <paramref name="options"/> say; see <see cref="SafeImageLoadingOptions"/> for each option and its default.</summary>
    /// <param name="catalog">The transforms catalog of the context.</param>
    /// <param name="options">The columns, folder, policy, decode size, log and callbacks.</param>
    public static SafeImageLoadingEstimator LoadImagesSafely(this TransformsCatalog catalog, SafeImageLoadingOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        return new SafeImageLoadingEstimator(options);
    }
}
