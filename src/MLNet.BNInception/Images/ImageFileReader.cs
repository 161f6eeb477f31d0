using System.Runtime.InteropServices;
using Microsoft.ML.Data;
using MLNet.BNInception.IO;
using SkiaSharp;

namespace MLNet.BNInception.Images;

/// <summary>
/// Reads one image file at a time into 8-bit BGRA pixels (premultiplied alpha, sRGB), the layout of the
/// <see cref="MLImage"/> that ML.NET's own loader produces, checking everything ML.NET's loader does not:
/// the file's existence and kind, SkiaSharp's result code (which is how a truncated file shows), and the
/// EXIF orientation. It reads only regular files (<see cref="ImageFileContents"/>), never waiting on a named pipe or reading a device or a file the kernel writes as it is read (/proc/kmsg), and
/// refuses an image with more pixels than its limit before decoding it. One reader per cursor: it keeps its pixel buffer from row to row and is not thread-safe.
/// </summary>
internal sealed class ImageFileReader
{
    private static readonly SKColorSpace Srgb = SKColorSpace.CreateSrgb();

    private readonly string? _imageFolder;
    private readonly int _minimumWidth;
    private readonly int _minimumHeight;
    private readonly long _maximumPixels;

    // Both buffers are reused from row to row; reorienting needs a second one because a rotation cannot
    // be done in place for a non-square image.
    private byte[] _decoded = [];
    private byte[] _oriented = [];
    private bool _orientedIsCurrent;

    public ImageFileReader(string? imageFolder, int minimumWidth, int minimumHeight, long maximumPixels)
    {
        _imageFolder = imageFolder;
        _minimumWidth = minimumWidth;
        _minimumHeight = minimumHeight;
        _maximumPixels = maximumPixels;
    }

    /// <summary>The last image read: width in pixels, upright.</summary>
    public int Width { get; private set; }

    /// <summary>The last image read: height in pixels, upright.</summary>
    public int Height { get; private set; }

    /// <summary>The file the last call to <see cref="Read"/> resolved the row's path to.</summary>
    public string FullPath { get; private set; } = "";

    /// <summary>The last image's pixels, BGRA, row after row, no padding.</summary>
    public ReadOnlySpan<byte> Pixels => (_orientedIsCurrent ? _oriented : _decoded).AsSpan(0, Width * Height * 4);

    /// <summary>A new <see cref="MLImage"/> holding a copy of the last image read, tagged with its file.</summary>
    public MLImage CreateImage()
    {
        MLImage image = MLImage.CreateFromPixels(Width, Height, MLPixelFormat.Bgra32, Pixels);
        image.Tag = FullPath;
        return image;
    }

    /// <summary>Reads the image at <paramref name="rowPath"/>; null on success, else why not.</summary>
    public ImageReadFailure? Read(string rowPath)
    {
        Width = 0;
        Height = 0;
        FullPath = rowPath;
        if (string.IsNullOrWhiteSpace(rowPath))
        {
            return new(InvalidImageReason.EmptyPath,
                "the path is empty; every row needs the path of an image file" + WhereRelativePathsLead());
        }

        try
        {
            FullPath = Path.GetFullPath(_imageFolder is null ? rowPath : Path.Combine(_imageFolder, rowPath));
        }
        catch (Exception error) when (error is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return new(InvalidImageReason.Unreadable, $"the path is not a valid file path ({error.Message})");
        }

        if (!PosixFile.IsAvailable && Directory.Exists(FullPath))
        {
            return ImageFileContents.DirectoryFailure(Shown);
        }

        using SKData? contents = ImageFileContents.Read(FullPath, NotFound, RefusedFromItsStart, out ImageReadFailure? failure);
        if (contents is null)
        {
            return failure;
        }

        return Decode(contents);
    }

    private ImageReadFailure NotFound() => new(InvalidImageReason.FileNotFound, $"no file exists at '{Shown}'" + WhereRelativePathsLead());

    private string WhereRelativePathsLead() => _imageFolder is null
        ? $" (a relative path is looked up from the current directory, '{Environment.CurrentDirectory}'; pass an image folder to look elsewhere)"
        : $" (a relative path is looked up in the image folder '{_imageFolder}')";

    // The path for messages: a name whose bytes are not UTF-8 shows them as \xNN.
    private string Shown => FileNameBytes.Printable(FullPath);

    private ImageReadFailure? Decode(SKData contents)
    {
        ReadOnlySpan<byte> header = contents.AsSpan()[..Math.Min((int)contents.Size, ImageFormatSignature.HeaderLength)];
        using var stream = new SKMemoryStream(contents);
        using SKCodec? codec = SKCodec.Create(stream, out SKCodecResult created);
        if (codec is null)
        {
            // A file that ends as its format ends (PNG's IEND chunk, JPEG's end-of-image marker) was not
            // cut off, whatever the decoder calls its failure: its header is damaged.
            SKCodecResult reason = created == SKCodecResult.IncompleteInput && ImageFormatSignature.EndsWhole(contents.AsSpan()) ? SKCodecResult.InvalidInput : created;
            return CutOff(header, contents.Size) ?? UndecodableJpeg(header, contents.AsSpan()) ?? Refused(header, reason);
        }

        SKEncodedOrigin origin = codec.EncodedOrigin;
        SKSizeI size = DecodeSize(codec, origin);
        if (TooBig(codec, size, contents.AsSpan()) is { } tooBig)
        {
            return tooBig;
        }

        SKCodecResult result = DecodeInto(codec, size, ref _decoded);
        if (result == SKCodecResult.InvalidScale && size != codec.Info.Size)
        {
            // The codec offered this size but would not decode at it: full size always works, within the limits.
            size = codec.Info.Size;
            if (TooBig(codec, size, contents.AsSpan()) is { } fullTooBig)
            {
                return fullTooBig;
            }

            result = DecodeInto(codec, size, ref _decoded);
        }

        if (result != SKCodecResult.Success)
        {
            return CutOff(header, contents.Size) ?? Failed(codec.EncodedFormat, result);
        }

        if (codec.EncodedFormat == SKEncodedImageFormat.Jpeg && !JpegEndOfImage.IsPresent(contents.AsSpan()))
        {
            int zeros = JpegEndOfImage.TrailingZeros(contents.AsSpan());
            return new(InvalidImageReason.Truncated,
                $"'{Shown}' has no JPEG end-of-image marker after its image data, so its end was never written"
                + (zeros > 0 ? $" (it ends in {zeros} zero bytes, as a file preallocated at full size and only partly written does)" : ""));
        }

        Orient(origin, size.Width, size.Height);
        return null;
    }

    // Refused from the header alone: a few hundred kilobytes of PNG can declare gigabytes of pixels. A
    // progressive JPEG is counted at full size even when it decodes smaller: libjpeg keeps the whole
    // image's coefficients (about 2 bytes a sample) to decode it at any scale.
    private ImageReadFailure? TooBig(SKCodec codec, SKSizeI size, ReadOnlySpan<byte> contents)
    {
        SKSizeI full = codec.Info.Size;
        bool progressive = codec.EncodedFormat == SKEncodedImageFormat.Jpeg && size != full && JpegFrame.IsProgressive(contents);
        SKSizeI counted = progressive ? full : size;
        if ((long)counted.Width * counted.Height > _maximumPixels)
        {
            string how = counted == full
                ? progressive ? " (a progressive JPEG holds its coefficients at full size, whatever size it decodes at)" : ""
                : $" even at the smallest size it decodes at here, {size.Width}x{size.Height},";
            string smaller = counted == full && !progressive && codec.EncodedFormat is SKEncodedImageFormat.Jpeg or SKEncodedImageFormat.Webp
                ? "; in an ML.NET pipeline, MinimumWidth and MinimumHeight let it decode smaller" : "";
            return new(InvalidImageReason.TooManyPixels,
                $"'{Shown}' is {full.Width}x{full.Height} pixels ({Megapixels(full)}), more than the limit of {_maximumPixels} pixels{how}; "
                + $"raise the limit (MaximumPixels, --max-image-pixels) to load it{smaller}");
        }

        if ((long)size.Width * size.Height * 4 > Array.MaxLength)
        {
            return new(InvalidImageReason.TooLarge,
                $"'{Shown}' is {size.Width}x{size.Height} pixels, more than one array holds; pass a minimum width and height to decode it smaller");
        }

        return null;
    }

    private static string Megapixels(SKSizeI size) =>
        ((double)size.Width * size.Height / 1e6).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + " megapixels";

    // The decoders report a cut-off WEBP as invalid rather than incomplete when the cut falls inside a
    // chunk; the length its header states says which it is.
    private ImageReadFailure? CutOff(ReadOnlySpan<byte> header, long length) =>
        ImageFormatSignature.DeclaredLength(header) is { } declared && declared > length
            ? new(InvalidImageReason.Truncated,
                $"'{Shown}' ends before its {ImageFormatSignature.Decodable(header)} image data does: its header says {declared} bytes, the file has {length} (a half-written or interrupted copy)")
            : null;

    // A file that starts like none of the formats SkiaSharp decodes is refused from its first bytes,
    // before the rest is read, with the reason SkiaSharp's refusal would have led to. WBMP has no
    // signature, only two zero bytes first (type 0, fixed header 0), then its width, which is not 0:
    // such a file goes to the decoder. A file that starts with three zero bytes (one allocated but
    // never written, say) is no WBMP.
    private ImageReadFailure? RefusedFromItsStart(ReadOnlySpan<byte> header) =>
        ImageFormatSignature.Decodable(header) is not null || header is [0, 0, not 0, ..] ? null : Refused(header, SKCodecResult.Unimplemented);

    // libjpeg-turbo refuses a JPEG coded in a way it does not decode (12-bit, lossless) as it refuses a
    // damaged header; its frame header tells the two apart.
    private ImageReadFailure? UndecodableJpeg(ReadOnlySpan<byte> header, ReadOnlySpan<byte> contents) =>
        ImageFormatSignature.Decodable(header) == "JPEG" && JpegFrame.UndecodableCoding(contents) is { } coding
            ? new(InvalidImageReason.UnsupportedFormat,
                $"'{Shown}' is a {coding} JPEG, which SkiaSharp decodes only as 8-bit sequential or progressive JPEG; convert it to one of those, or to PNG")
            : null;

    private ImageReadFailure Refused(ReadOnlySpan<byte> header, SKCodecResult created)
    {
        if (ImageFormatSignature.Decodable(header) is { } format)
        {
            return created == SKCodecResult.IncompleteInput
                ? new(InvalidImageReason.Truncated, $"'{Shown}' is a {format} file cut off inside its header (a half-written or interrupted copy)")
                : new(InvalidImageReason.Corrupt, $"'{Shown}' starts like a {format} file but its header is damaged (SkiaSharp: {created})");
        }

        if (ImageFormatSignature.Undecodable(header) is { } unsupported)
        {
            return new(InvalidImageReason.UnsupportedFormat,
                $"'{Shown}' is a {unsupported} image, which SkiaSharp cannot decode; convert it to one of {ImageFormatSignature.DecodableFormats}");
        }

        return new(InvalidImageReason.NotAnImage,
            $"'{Shown}' is not an image: its first bytes, {ImageFormatSignature.Describe(header)}, match none of {ImageFormatSignature.DecodableFormats}");
    }

    private ImageReadFailure Failed(SKEncodedImageFormat encoded, SKCodecResult result) => Failed(encoded.ToString().ToUpperInvariant(), result);

    private ImageReadFailure Failed(string format, SKCodecResult result) => result switch
    {
        // The codec ran out of bytes before the last row: the rows it did not get would come back grey or
        // black, which is exactly the silent damage this loader exists to catch.
        SKCodecResult.IncompleteInput => new(InvalidImageReason.Truncated,
            $"'{Shown}' ends before its {format} image data does (a half-written or interrupted copy)"),
        SKCodecResult.InvalidConversion or SKCodecResult.Unimplemented => new(InvalidImageReason.UnsupportedFormat,
            $"'{Shown}' is a {format} image SkiaSharp cannot convert to 8-bit colour (SkiaSharp: {result})"),
        _ => new(InvalidImageReason.Corrupt, $"'{Shown}' holds damaged {format} image data (SkiaSharp: {result})"),
    };

    /// <summary>
    /// The smallest size the codec decodes at directly that is at least the minimum width and height once
    /// upright: JPEG's libjpeg-turbo scales by n/8 and WEBP by any factor while decoding, so the full-size
    /// bitmap never exists. Other formats decode at full size.
    /// </summary>
    private SKSizeI DecodeSize(SKCodec codec, SKEncodedOrigin origin)
    {
        SKSizeI full = codec.Info.Size;
        if (_minimumWidth <= 0 && _minimumHeight <= 0)
        {
            return full;
        }

        // The minimum is for the upright image; origins 5 to 8 store it rotated by a quarter turn.
        bool quarterTurn = origin >= SKEncodedOrigin.LeftTop;
        int needWidth = quarterTurn ? _minimumHeight : _minimumWidth;
        int needHeight = quarterTurn ? _minimumWidth : _minimumHeight;
        float exact = Math.Max((float)needWidth / full.Width, (float)needHeight / full.Height);

        SKSizeI best = full;
        foreach (float scale in (ReadOnlySpan<float>)[0.125f, 0.25f, 0.375f, 0.5f, 0.625f, 0.75f, 0.875f, exact])
        {
            if (scale is <= 0 or >= 1)
            {
                continue;
            }

            SKSizeI candidate = codec.GetScaledDimensions(scale);
            if (candidate.Width >= needWidth && candidate.Height >= needHeight
                && (long)candidate.Width * candidate.Height < (long)best.Width * best.Height)
            {
                best = candidate;
            }
        }

        return best;
    }

    private static SKCodecResult DecodeInto(SKCodec codec, SKSizeI size, ref byte[] buffer)
    {
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Bgra8888, SKAlphaType.Premul, Srgb);
        EnsureCapacity(ref buffer, info.BytesSize);
        GCHandle pinned = GCHandle.Alloc(buffer, GCHandleType.Pinned);
        try
        {
            // Frame 0: the first frame of an animated GIF or WEBP.
            return codec.GetPixels(info, pinned.AddrOfPinnedObject(), info.RowBytes, new SKCodecOptions(0));
        }
        finally
        {
            pinned.Free();
        }
    }

    private static void EnsureCapacity(ref byte[] buffer, int bytes)
    {
        if (buffer.Length < bytes)
        {
            buffer = new byte[bytes];
        }
    }

    /// <summary>
    /// Turns the stored image upright as its EXIF orientation says (TIFF/EXIF tag 0x0112, values 1 to 8).
    /// Each origin is a walk through the stored pixels: where output pixel (0, 0) comes from, and the step
    /// in the stored image for one output pixel to the right and one output row down.
    /// </summary>
    private void Orient(SKEncodedOrigin origin, int width, int height)
    {
        _orientedIsCurrent = false;
        (Width, Height) = (width, height);
        if (origin == SKEncodedOrigin.TopLeft)
        {
            return;
        }

        int last = width * (height - 1);
        (int start, int right, int down) = origin switch
        {
            SKEncodedOrigin.TopRight => (width - 1, -1, width),
            SKEncodedOrigin.BottomRight => (last + width - 1, -1, -width),
            SKEncodedOrigin.BottomLeft => (last, 1, -width),
            SKEncodedOrigin.LeftTop => (0, width, 1),
            SKEncodedOrigin.RightTop => (last, -width, 1),
            SKEncodedOrigin.RightBottom => (last + width - 1, -width, -1),
            SKEncodedOrigin.LeftBottom => (width - 1, width, -1),
            _ => throw new InvalidOperationException($"EXIF orientation {origin} is not one of the eight the standard defines."),
        };

        if (origin >= SKEncodedOrigin.LeftTop)
        {
            (Width, Height) = (height, width);
        }

        EnsureCapacity(ref _oriented, width * height * 4);
        ReadOnlySpan<uint> source = MemoryMarshal.Cast<byte, uint>(_decoded.AsSpan(0, width * height * 4));
        Span<uint> target = MemoryMarshal.Cast<byte, uint>(_oriented.AsSpan(0, width * height * 4));
        int index = 0;
        for (int y = 0; y < Height; y++)
        {
            int from = start + (y * down);
            for (int x = 0; x < Width; x++, from += right)
            {
                target[index++] = source[from];
            }
        }

        _orientedIsCurrent = true;
    }
}
