using MLNet.BNInception.Imaging;

namespace MLNet.BNInception.Data;

/// <summary>The layout of an <see cref="MLImage"/>'s pixels.</summary>
public enum MLPixelFormat
{
    /// <summary>Three bytes per pixel, blue, green, red.</summary>
    Bgr24,

    /// <summary>One byte per pixel.</summary>
    Gray8,
}

/// <summary>
/// A decoded 8-bit image held in managed memory (ML.NET's <c>MLImage</c>): rows top to bottom,
/// channels interleaved. Decoding and resizing are OpenCV's, through the native shim.
/// </summary>
public sealed class MLImage
{
    internal MLImage(BgrImage image, string? tag = null)
    {
        Image = image;
        Tag = tag;
    }

    internal BgrImage Image { get; }

    /// <summary>Width in pixels.</summary>
    public int Width => Image.Width;

    /// <summary>Height in pixels.</summary>
    public int Height => Image.Height;

    /// <summary>The pixel layout.</summary>
    public MLPixelFormat PixelFormat => Image.Channels == 1 ? MLPixelFormat.Gray8 : MLPixelFormat.Bgr24;

    /// <summary>Bytes per pixel.</summary>
    public int BitsPerPixel => Image.Channels * 8;

    /// <summary>The pixels.</summary>
    public ReadOnlySpan<byte> Pixels => Image.Pixels;

    /// <summary>Where the image came from (its path), for messages.</summary>
    public string? Tag { get; set; }

    /// <summary>Decodes a JPEG, PNG or BMP file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a decodable image.</exception>
    public static MLImage CreateFromFile(string imagePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagePath);
        byte[] bytes = File.ReadAllBytes(imagePath);
        try
        {
            return new MLImage(ImageCodec.Decode(bytes), imagePath);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{imagePath}': {e.Message}", e);
        }
    }

    /// <summary>Decodes an encoded image from a stream.</summary>
    public static MLImage CreateFromStream(Stream imageStream)
    {
        ArgumentNullException.ThrowIfNull(imageStream);
        using var buffer = new MemoryStream();
        imageStream.CopyTo(buffer);
        return new MLImage(ImageCodec.Decode(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)));
    }

    /// <summary>Wraps pixels (copied) of the given layout.</summary>
    public static MLImage CreateFromPixels(int width, int height, MLPixelFormat format, ReadOnlySpan<byte> pixels) =>
        new(new BgrImage(width, height, format == MLPixelFormat.Gray8 ? 1 : 3, pixels.ToArray()));

    /// <summary>Writes the image as PNG.</summary>
    public void Save(string imagePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagePath);
        File.WriteAllBytes(imagePath, ImageCodec.EncodePng(Image));
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Width}x{Height} {PixelFormat}";
}
