using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace MLNet.BNInception.Images;

/// <summary>
/// The <see cref="ITransformer"/> that <see cref="SafeImageLoadingEstimator"/> makes: adds an image column
/// (ML.NET's <see cref="ImageDataViewType"/>, values <see cref="MLImage"/>) loaded from the paths in a text
/// column, so ML.NET's <c>ResizeImages</c> and <c>ExtractPixels</c> follow it unchanged. Unlike ML.NET's
/// <see cref="ImageLoadingTransformer"/>, a file that cannot be loaded (missing, a directory, empty, not an
/// image, truncated, corrupt, of a format SkiaSharp cannot decode, or an empty path) is never loaded as a
/// black or partly grey image: it fails with the row, path and reason, or its row is skipped.
/// </summary>
/// <remarks>
/// <para>
/// Decoding is SkiaSharp's: JPEG, PNG, GIF (first frame), WEBP, BMP, ICO and WBMP, turned upright by their
/// EXIF orientation, in 8-bit BGRA with premultiplied alpha (as ML.NET's loader gives them), converted to sRGB
/// when they carry a colour profile. Grayscale, 16-bit (to 8 bits by dropping the low byte), palette,
/// grayscale-with-alpha and RGBA images come out as colour; CMYK JPEGs are converted as Adobe writes them
/// (inverted CMYK), without a profile by multiplying each ink's complement by black's.
/// </para>
/// <para>
/// Under <see cref="InvalidImagePolicy.Skip"/> the output view's cursors leave out the rows whose image
/// cannot be loaded, and <see cref="IDataView.GetRowCount"/> returns null. Every cursor over one output view
/// sees the same rows whichever columns it asks for: the first cursor to reach a row decodes its image (even
/// if it did not ask for the image column) and the verdict is kept for the view's lifetime, keyed by the
/// input's row ID; later cursors reuse it without opening the file, so a pass that does not read images costs
/// one decode per row the first time and a lookup afterwards, and the view holds about 36 bytes per row. A
/// file that changes between passes cannot change the rows: a row skipped once stays skipped, and a row kept
/// once whose file no longer loads is an error. Under <see cref="InvalidImagePolicy.Fail"/> nothing is decoded
/// unless the image column is read, and the row count is the input's.
/// </para>
/// <para>
/// <c>mlContext.Model.Save</c> saves this transformer as ML.NET's own <see cref="ImageLoadingTransformer"/>
/// with the same columns and folder (see <see cref="ICanSaveModel.Save"/>): ML.NET keeps the members of
/// <see cref="ModelSaveContext"/> and its loader registration internal, so no other assembly can save a
/// transformer that ML.NET would load back as itself.
/// </para>
/// </remarks>
public sealed class SafeImageLoadingTransformer : ITransformer
{
    internal SafeImageLoadingTransformer(SafeImageLoadingOptions options)
    {
        options.Validate();
        Options = options;
        ImageFolder = string.IsNullOrEmpty(options.ImageFolder) ? null : Path.GetFullPath(options.ImageFolder);
    }

    /// <summary>The image column this transformer adds.</summary>
    public string OutputColumnName => Options.OutputColumnName;

    /// <summary>The text column of image paths it reads.</summary>
    public string InputColumnName => Options.ResolvedInputColumnName;

    /// <summary>The full path of the folder relative paths are looked up in, or null for the paths as they are.</summary>
    public string? ImageFolder { get; }

    /// <summary>What happens to a row whose image cannot be loaded.</summary>
    public InvalidImagePolicy OnInvalidImage => Options.OnInvalidImage;

    /// <summary>The smallest width a large image may be decoded down to; 0 for full size. See <see cref="SafeImageLoadingOptions.MinimumWidth"/>.</summary>
    public int MinimumWidth => Options.MinimumWidth;

    /// <summary>The smallest height a large image may be decoded down to; 0 for full size.</summary>
    public int MinimumHeight => Options.MinimumHeight;

    /// <summary>The most pixels an image may decode to. See <see cref="SafeImageLoadingOptions.MaximumPixels"/>.</summary>
    public long MaximumPixels => Options.MaximumPixels;

    /// <summary>
    /// True under <see cref="InvalidImagePolicy.Fail"/>: each input row gives one output row, so prediction
    /// engines can run it. False under <see cref="InvalidImagePolicy.Skip"/>, which drops rows.
    /// </summary>
    public bool IsRowToRowMapper => OnInvalidImage == InvalidImagePolicy.Fail;

    internal SafeImageLoadingOptions Options { get; }

    /// <summary>The input schema with the image column added after its columns (hiding any column of the same name).</summary>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        FindPathColumn(inputSchema);
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(inputSchema);
        builder.AddColumn(OutputColumnName, new ImageDataViewType());
        return builder.ToSchema();
    }

    /// <summary>The input with the image column added, lazily: files are read as cursors reach their rows.</summary>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new SafeImageDataView(this, input);
    }

    /// <summary>A mapper from an input row to the same row with its image; only under <see cref="InvalidImagePolicy.Fail"/>.</summary>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        if (!IsRowToRowMapper)
        {
            throw new InvalidOperationException(
                "A LoadImagesSafely transformer with InvalidImagePolicy.Skip drops rows, so it cannot map each input row to one output row "
                + "(as prediction engines need); use InvalidImagePolicy.Fail in the pipeline that predicts.");
        }

        return new SafeImageRowMapper(this, inputSchema);
    }

    /// <summary>
    /// Saves this transformer as ML.NET's <see cref="ImageLoadingTransformer"/> with the same input column,
    /// output column and image folder, which is what <c>mlContext.Model.Load</c> gives back.
    /// </summary>
    /// <remarks>
    /// After loading, images load the way ML.NET's loader loads them: no <see cref="InvalidImagePolicy.Skip"/>
    /// (a bad row is an error, or, for an empty path, a truncated file or a partly written one, a silently
    /// black or grey image), no EXIF orientation, no truncation detection, no scaled decoding of large images
    /// (they decode at full size), no colour-profile conversion, and errors that name neither the row nor the
    /// file. The image folder is saved as a full path, as ML.NET saves it.
    /// </remarks>
    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        if (ImageFolder is not null && !Directory.Exists(ImageFolder))
        {
            throw new DirectoryNotFoundException(
                $"The image folder '{ImageFolder}' no longer exists; ML.NET's image loader, as which this transformer is saved, needs it to exist.");
        }

        ICanSaveModel equivalent = MLNetImageLoader().Fit(SchemaOnlyInput());
        equivalent.Save(ctx);
    }

    /// <summary>The path column in <paramref name="inputSchema"/>, checked to be text; the error says which columns there are.</summary>
    internal DataViewSchema.Column FindPathColumn(DataViewSchema inputSchema)
    {
        if (inputSchema.GetColumnOrNull(InputColumnName) is not { } column)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"LoadImagesSafely reads image paths from the text column '{InputColumnName}', which the input does not have; "
                + $"its columns are {string.Join(", ", inputSchema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}'"))}.");
        }

        if (column.Type is not TextDataViewType)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"LoadImagesSafely reads image paths from column '{InputColumnName}', which holds {column.Type}; it must be a text column (String).");
        }

        return column;
    }

    /// <summary>ML.NET's own loader with this one's columns and folder.</summary>
    internal ImageLoadingEstimator MLNetImageLoader() =>
        (Options.Log ?? new MLContext()).Transforms.LoadImages(OutputColumnName, ImageFolder, InputColumnName);

    // ML.NET's loader is fitted on a schema only: it learns nothing from data, and a view with no rows is the
    // public way to hand it one.
    private IDataView SchemaOnlyInput()
    {
        SchemaDefinition definition = SchemaDefinition.Create(typeof(PathRow));
        definition[0].ColumnName = InputColumnName;
        return new MLContext().Data.LoadFromEnumerable(Array.Empty<PathRow>(), definition);
    }

    private sealed class PathRow
    {
        public string Path { get; set; } = "";
    }
}
