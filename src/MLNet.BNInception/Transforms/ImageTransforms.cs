using System.Text.Json.Nodes;
using MLNet.BNInception.Data;
using MLNet.BNInception.Imaging;
using MLNet.BNInception.Models;

namespace MLNet.BNInception.Transforms.Image;

/// <summary>What to do with a row whose image is missing, unreadable or corrupt.</summary>
public enum InvalidImagePolicy
{
    /// <summary>Stop with an error naming the row and the path (the default).</summary>
    Fail,

    /// <summary>Drop the row, log a warning, and count it in <see cref="ImageLoadingTransformer.SkippedImageCount"/>.</summary>
    Skip,
}

/// <summary>One image that was skipped.</summary>
/// <param name="Row">The row's position in the view LoadImages read.</param>
/// <param name="Path">The image's path.</param>
/// <param name="Reason">Why it could not be read.</param>
public sealed record SkippedImage(long Row, string Path, string Reason);

/// <summary>
/// Shared by the image transforms: they learn nothing, so fitting checks the input schema and
/// returns the transformer.
/// </summary>
public sealed class ImageTransformEstimator<TTransformer> : IEstimator<TTransformer>
    where TTransformer : class, ITransformer
{
    private readonly TTransformer _transformer;

    internal ImageTransformEstimator(TTransformer transformer) => _transformer = transformer;

    /// <summary>Checks the input columns; reads no rows.</summary>
    public TTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _ = _transformer.Transform(new EmptyDataView(input.Schema));
        return _transformer;
    }
}

/// <summary>Decodes image files named in a text column (ML.NET's <c>LoadImages</c>), lazily, row by row.</summary>
public sealed class ImageLoadingTransformer : OneToOneColumnTransformer
{
    internal const string KindName = "LoadImages";
    private readonly Lock _skippedLock = new();
    private readonly List<SkippedImage> _skipped = [];
    private long _skippedCount;

    internal ImageLoadingTransformer(MLContext? context, string outputColumnName, string? imageFolder, string inputColumnName, InvalidImagePolicy onInvalidImage)
        : base(outputColumnName, inputColumnName)
    {
        Context = context;
        ImageFolder = imageFolder;
        OnInvalidImage = onInvalidImage;
    }

    internal MLContext? Context { get; }

    /// <summary>The folder relative paths are taken from; null for the current directory.</summary>
    public string? ImageFolder { get; }

    /// <summary>What happens to rows whose image cannot be read.</summary>
    public InvalidImagePolicy OnInvalidImage { get; }

    /// <summary>Rows skipped so far under <see cref="InvalidImagePolicy.Skip"/> (every pass counts).</summary>
    public long SkippedImageCount => Interlocked.Read(ref _skippedCount);

    /// <summary>The first 100 skipped images, with reasons.</summary>
    public IReadOnlyList<SkippedImage> SkippedImages
    {
        get
        {
            lock (_skippedLock)
            {
                return [.. _skipped];
            }
        }
    }

    private protected override string Kind => KindName;

    /// <inheritdoc/>
    public override IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ImageColumns.RequireType<TextDataViewType>(input.Schema, InputColumnName, "LoadImages", "a text column of image paths");
        var mapped = new MappedDataView(input, [new AddedColumn(OutputColumnName, new ImageDataViewType(), null, [InputColumnName], row =>
        {
            ValueGetter<ReadOnlyMemory<char>> pathGetter = row.GetGetter<ReadOnlyMemory<char>>(row.Schema[InputColumnName]);
            long loadedPosition = -1;
            MLImage? loaded = null;
            return (ValueGetter<MLImage>)((ref MLImage image) =>
            {
                if (loadedPosition != row.Position || loaded is null)
                {
                    ReadOnlyMemory<char> path = default;
                    pathGetter(ref path);
                    loaded = Load(row.Position, path.ToString());
                    loadedPosition = row.Position;
                }

                image = loaded;
            });
        })]);
        if (OnInvalidImage == InvalidImagePolicy.Fail)
        {
            return mapped;
        }

        return new FilteredDataView(mapped, [OutputColumnName, InputColumnName], row =>
        {
            ValueGetter<MLImage> imageGetter = row.GetGetter<MLImage>(row.Schema[OutputColumnName]);
            ValueGetter<ReadOnlyMemory<char>> pathGetter = row.GetGetter<ReadOnlyMemory<char>>(row.Schema[InputColumnName]);
            return () =>
            {
                try
                {
                    MLImage image = null!;
                    imageGetter(ref image);
                    return true;
                }
                catch (InvalidImageException e)
                {
                    ReadOnlyMemory<char> path = default;
                    pathGetter(ref path);
                    RecordSkipped(new SkippedImage(row.Position, path.ToString(), e.Reason));
                    return false;
                }
            };
        }, (kept, dropped) =>
        {
            if (dropped > 0)
            {
                Context?.WriteLog(KindName, ChannelMessageKind.Warning,
                    $"skipped {dropped} of {kept + dropped} rows whose image could not be read; SkippedImages lists the first 100");
            }
        });
    }

    private void RecordSkipped(SkippedImage skipped)
    {
        Interlocked.Increment(ref _skippedCount);
        lock (_skippedLock)
        {
            if (_skipped.Count < 100)
            {
                _skipped.Add(skipped);
            }
        }

        Context?.WriteLog(KindName, ChannelMessageKind.Warning, $"skipped row {skipped.Row}, '{skipped.Path}': {skipped.Reason}");
    }

    private MLImage Load(long row, string path)
    {
        (string fullPath, byte[] bytes) = ImageColumns.ReadFile(row, ImageFolder, path);
        try
        {
            return new MLImage(ImageCodec.Decode(bytes), fullPath);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidImageException(row, fullPath, e.Message, e);
        }
    }

    private protected override JsonObject SaveSettings(ModelSaveContext context) => new()
    {
        ["outputColumnName"] = OutputColumnName,
        ["imageFolder"] = ImageFolder,
        ["inputColumnName"] = InputColumnName,
        ["onInvalidImage"] = OnInvalidImage.ToString(),
    };

    internal static ImageLoadingTransformer Load(JsonObject settings, ModelLoadContext context) => new(context.MLContext,
        context.String(settings, "outputColumnName"), context.OptionalString(settings, "imageFolder"), context.String(settings, "inputColumnName"),
        context.Enum<InvalidImagePolicy>(settings, "onInvalidImage"));
}

/// <summary>An image that could not be read, with the row and path.</summary>
public sealed class InvalidImageException : IOException
{
    internal InvalidImageException(long row, string path, string reason, Exception? inner = null)
        : base($"row {row}, image '{path}': {reason}", inner)
    {
        Row = row;
        ImagePath = path;
        Reason = reason;
    }

    /// <summary>The row's position in the view LoadImages read.</summary>
    public long Row { get; }

    /// <summary>The image's path.</summary>
    public string ImagePath { get; }

    /// <summary>Why it could not be read.</summary>
    public string Reason { get; }
}

/// <summary>Reads image files' bytes, undecoded, as a byte vector (ML.NET's <c>LoadRawImageBytes</c>).</summary>
public sealed class ImageBytesLoadingTransformer : OneToOneColumnTransformer
{
    internal const string KindName = "LoadRawImageBytes";

    internal ImageBytesLoadingTransformer(string outputColumnName, string? imageFolder, string inputColumnName)
        : base(outputColumnName, inputColumnName)
    {
        ImageFolder = imageFolder;
    }

    /// <summary>The folder relative paths are taken from; null for the current directory.</summary>
    public string? ImageFolder { get; }

    private protected override string Kind => KindName;

    /// <inheritdoc/>
    public override IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ImageColumns.RequireType<TextDataViewType>(input.Schema, InputColumnName, "LoadRawImageBytes", "a text column of image paths");
        return new MappedDataView(input, [new AddedColumn(OutputColumnName, new VectorDataViewType(NumberDataViewType.Byte), null, [InputColumnName], row =>
        {
            ValueGetter<ReadOnlyMemory<char>> pathGetter = row.GetGetter<ReadOnlyMemory<char>>(row.Schema[InputColumnName]);
            return (ValueGetter<VBuffer<byte>>)((ref VBuffer<byte> bytes) =>
            {
                ReadOnlyMemory<char> path = default;
                pathGetter(ref path);
                bytes = new VBuffer<byte>(ImageColumns.ReadFile(row.Position, ImageFolder, path.ToString()).Bytes);
            });
        })]);
    }

    private protected override JsonObject SaveSettings(ModelSaveContext context) => new()
    {
        ["outputColumnName"] = OutputColumnName,
        ["imageFolder"] = ImageFolder,
        ["inputColumnName"] = InputColumnName,
    };

    internal static ImageBytesLoadingTransformer Load(JsonObject settings, ModelLoadContext context) => new(
        context.String(settings, "outputColumnName"), context.OptionalString(settings, "imageFolder"), context.String(settings, "inputColumnName"));
}

/// <summary>How <see cref="ImageResizingTransformer"/> fits an image into the target size.</summary>
public enum ResizingKind
{
    /// <summary>Keep the aspect ratio, scale to fit inside, pad with black.</summary>
    IsoPad = 0,

    /// <summary>Keep the aspect ratio, scale to cover, crop the overflow at <see cref="Anchor"/> (the default).</summary>
    IsoCrop = 1,

    /// <summary>Stretch to the target size.</summary>
    Fill = 2,
}

/// <summary>Which part of an image <see cref="ResizingKind.IsoCrop"/> keeps.</summary>
public enum Anchor
{
    /// <summary>The right edge.</summary>
    Right = 0,

    /// <summary>The left edge.</summary>
    Left = 1,

    /// <summary>The top edge.</summary>
    Top = 2,

    /// <summary>The bottom edge.</summary>
    Bottom = 3,

    /// <summary>The centre (the default).</summary>
    Center = 4,
}

/// <summary>
/// Resizes images (ML.NET's <c>ResizeImages</c>) with OpenCV: area averaging when shrinking,
/// bilinear when enlarging, unless another filter is asked for.
/// </summary>
public sealed class ImageResizingTransformer : OneToOneColumnTransformer
{
    internal const string KindName = "ResizeImages";

    internal ImageResizingTransformer(string outputColumnName, int imageWidth, int imageHeight, string inputColumnName, ResizingKind resizing, Anchor cropAnchor,
        ResizeFilter filter)
        : base(outputColumnName, inputColumnName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(imageWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(imageHeight, 1);
        if (!Enum.IsDefined(resizing) || !Enum.IsDefined(cropAnchor) || !Enum.IsDefined(filter))
        {
            throw new ArgumentOutOfRangeException(nameof(resizing), "unknown resizing kind, anchor or filter");
        }

        ImageWidth = imageWidth;
        ImageHeight = imageHeight;
        Resizing = resizing;
        CropAnchor = cropAnchor;
        Filter = filter;
    }

    /// <summary>Target width.</summary>
    public int ImageWidth { get; }

    /// <summary>Target height.</summary>
    public int ImageHeight { get; }

    /// <summary>How the aspect ratio is handled.</summary>
    public ResizingKind Resizing { get; }

    /// <summary>What <see cref="ResizingKind.IsoCrop"/> keeps.</summary>
    public Anchor CropAnchor { get; }

    /// <summary>The interpolation.</summary>
    public ResizeFilter Filter { get; }

    private protected override string Kind => KindName;

    /// <inheritdoc/>
    public override IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ImageColumns.RequireType<ImageDataViewType>(input.Schema, InputColumnName, "ResizeImages", "an image column (from LoadImages)");
        return new MappedDataView(input, [new AddedColumn(OutputColumnName, new ImageDataViewType(ImageHeight, ImageWidth), null, [InputColumnName], row =>
        {
            ValueGetter<MLImage> getter = row.GetGetter<MLImage>(row.Schema[InputColumnName]);
            return (ValueGetter<MLImage>)((ref MLImage image) =>
            {
                MLImage source = null!;
                getter(ref source);
                image = new MLImage(Resize(source.Image), source.Tag);
            });
        })]);
    }

    internal BgrImage Resize(BgrImage source)
    {
        int width = source.Width, height = source.Height;
        switch (Resizing)
        {
            case ResizingKind.Fill:
                return ImageCodec.Resize(source, 0, 0, width, height, ImageWidth, ImageHeight, Filter);
            case ResizingKind.IsoCrop:
            {
                // Source wider than the target's aspect: keep the full height and crop the width.
                long wide = (long)width * ImageHeight, tall = (long)height * ImageWidth;
                int cropWidth = wide > tall ? Math.Clamp((int)Math.Round((double)height * ImageWidth / ImageHeight), 1, width) : width;
                int cropHeight = wide > tall ? height : Math.Clamp((int)Math.Round((double)width * ImageHeight / ImageWidth), 1, height);
                int x = CropAnchor switch { Anchor.Left => 0, Anchor.Right => width - cropWidth, _ => (width - cropWidth) / 2 };
                int y = CropAnchor switch { Anchor.Top => 0, Anchor.Bottom => height - cropHeight, _ => (height - cropHeight) / 2 };
                return ImageCodec.Resize(source, x, y, cropWidth, cropHeight, ImageWidth, ImageHeight, Filter);
            }

            default:
            {
                double scale = Math.Min((double)ImageWidth / width, (double)ImageHeight / height);
                int fitWidth = Math.Clamp((int)Math.Round(width * scale), 1, ImageWidth);
                int fitHeight = Math.Clamp((int)Math.Round(height * scale), 1, ImageHeight);
                BgrImage fitted = ImageCodec.Resize(source, 0, 0, width, height, fitWidth, fitHeight, Filter);
                var pixels = new byte[ImageWidth * ImageHeight * source.Channels];
                int left = (ImageWidth - fitWidth) / 2, top = (ImageHeight - fitHeight) / 2, rowBytes = fitWidth * source.Channels;
                for (int r = 0; r < fitHeight; r++)
                {
                    Array.Copy(fitted.Pixels, r * rowBytes, pixels, (((top + r) * ImageWidth) + left) * source.Channels, rowBytes);
                }

                return new BgrImage(ImageWidth, ImageHeight, source.Channels, pixels);
            }
        }
    }

    private protected override JsonObject SaveSettings(ModelSaveContext context) => new()
    {
        ["outputColumnName"] = OutputColumnName,
        ["imageWidth"] = ImageWidth,
        ["imageHeight"] = ImageHeight,
        ["inputColumnName"] = InputColumnName,
        ["resizing"] = Resizing.ToString(),
        ["cropAnchor"] = CropAnchor.ToString(),
        ["filter"] = Filter.ToString(),
    };

    internal static ImageResizingTransformer Load(JsonObject settings, ModelLoadContext context) => new(
        context.String(settings, "outputColumnName"), context.Int(settings, "imageWidth"), context.Int(settings, "imageHeight"),
        context.String(settings, "inputColumnName"), context.Enum<ResizingKind>(settings, "resizing"), context.Enum<Anchor>(settings, "cropAnchor"),
        context.Enum<ResizeFilter>(settings, "filter"));
}

/// <summary>Converts images to 8-bit gray with OpenCV's BT.601 weights (ML.NET's <c>ConvertToGrayscale</c>).</summary>
public sealed class ImageGrayscalingTransformer : OneToOneColumnTransformer
{
    internal const string KindName = "ConvertToGrayscale";

    internal ImageGrayscalingTransformer(string outputColumnName, string inputColumnName)
        : base(outputColumnName, inputColumnName)
    {
    }

    private protected override string Kind => KindName;

    /// <inheritdoc/>
    public override IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var type = ImageColumns.RequireType<ImageDataViewType>(input.Schema, InputColumnName, "ConvertToGrayscale", "an image column");
        return new MappedDataView(input, [new AddedColumn(OutputColumnName, type, null, [InputColumnName], row =>
        {
            ValueGetter<MLImage> getter = row.GetGetter<MLImage>(row.Schema[InputColumnName]);
            return (ValueGetter<MLImage>)((ref MLImage image) =>
            {
                MLImage source = null!;
                getter(ref source);
                image = new MLImage(ToGray(source.Image), source.Tag);
            });
        })]);
    }

    /// <summary>gray = (4899 R + 9617 G + 1868 B + 2^13) >> 14: OpenCV's fixed-point BT.601, so results match cv2.cvtColor exactly.</summary>
    internal static BgrImage ToGray(BgrImage source)
    {
        if (source.Channels == 1)
        {
            return source;
        }

        var gray = new byte[source.Width * source.Height];
        byte[] bgr = source.Pixels;
        for (int i = 0; i < gray.Length; i++)
        {
            gray[i] = (byte)(((bgr[(3 * i) + 2] * 4899) + (bgr[(3 * i) + 1] * 9617) + (bgr[3 * i] * 1868) + (1 << 13)) >> 14);
        }

        return new BgrImage(source.Width, source.Height, 1, gray);
    }

    private protected override JsonObject SaveSettings(ModelSaveContext context) => new()
    {
        ["outputColumnName"] = OutputColumnName,
        ["inputColumnName"] = InputColumnName,
    };

    internal static ImageGrayscalingTransformer Load(JsonObject settings, ModelLoadContext context) =>
        new(context.String(settings, "outputColumnName"), context.String(settings, "inputColumnName"));
}

/// <summary>Helpers shared by the image transforms.</summary>
internal static class ImageColumns
{
    /// <summary>Reads the file a row names (relative to <paramref name="folder"/>); any failure is an <see cref="InvalidImageException"/> with the row and path.</summary>
    public static (string FullPath, byte[] Bytes) ReadFile(long row, string? folder, string path)
    {
        if (path.Length == 0)
        {
            throw new InvalidImageException(row, path, "the image path is empty");
        }

        string fullPath = folder is null ? path : Path.Combine(folder, path);
        try
        {
            return (fullPath, File.ReadAllBytes(fullPath));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidImageException(row, fullPath, e is FileNotFoundException or DirectoryNotFoundException ? "the file does not exist" : e.Message, e);
        }
    }

    public static TType RequireType<TType>(DataViewSchema schema, string columnName, string transform, string expected)
        where TType : DataViewType
    {
        DataViewSchema.Column column = schema.GetColumnOrNull(columnName) ??
            throw new ArgumentOutOfRangeException(nameof(columnName), $"{transform}: there is no column '{columnName}'; the columns are {schema.Describe()}");
        return column.Type as TType ??
            throw new ArgumentException($"{transform}: column '{columnName}' is {column.Type}, but {transform} needs {expected}");
    }
}
