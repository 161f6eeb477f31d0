using MLNet.BNInception.Torch;
using MLNet.BNInception.Torch.Interop;

namespace MLNet.BNInception.Imaging;

/// <summary>
/// Image decoding, resizing and PNG encoding through OpenCV 4.6 (imgcodecs and imgproc). Every call
/// copies its result into managed memory; no native memory outlives a call. Thread-safe.
/// </summary>
public static unsafe class ImageCodec
{
    /// <summary>
    /// Decodes a JPEG, PNG, BMP or any other file OpenCV's imgcodecs reads into 3-channel BGR, exactly
    /// as <c>cv2.imdecode(buffer, cv2.IMREAD_COLOR)</c> does: gray is replicated to three channels,
    /// alpha dropped, 16-bit samples scaled to 8 bits and the EXIF orientation applied.
    /// </summary>
    /// <exception cref="InvalidDataException">
    /// The input is empty, OpenCV cannot decode it, or it is a JPEG without its end-of-image marker
    /// (a truncated file, which libjpeg would otherwise return partly grey).
    /// </exception>
    public static BgrImage Decode(ReadOnlySpan<byte> encoded)
    {
        if (encoded.IsEmpty)
        {
            throw new InvalidDataException("The image is empty (0 bytes).");
        }

        if (JpegStructure.IsJpeg(encoded) && !JpegStructure.HasEndOfImage(encoded))
        {
            throw new InvalidDataException(
                $"The JPEG image ({encoded.Length} bytes) is truncated or damaged: no end-of-image marker (FF D9) follows its data.");
        }

        IntPtr error;
        IntPtr decoded;
        fixed (byte* data = encoded)
        {
            error = NativeMethods.bni_image_decode(data, encoded.Length, out decoded);
        }

        try
        {
            NativeStatus.Check(error);
        }
        catch (TorchException exception)
        {
            throw new InvalidDataException($"OpenCV could not decode the image ({encoded.Length} bytes): {exception.Message}", exception);
        }

        if (decoded == IntPtr.Zero)
        {
            throw new InvalidDataException(
                $"OpenCV could not decode the image ({encoded.Length} bytes): not a format it reads (JPEG, PNG, BMP, ...) or a damaged file.");
        }

        using var image = new ImageHandle(decoded);
        NativeMethods.bni_image_size(image, out int width, out int height, out int channels);
        long size = (long)width * height * channels;
        if (size > Array.MaxLength)
        {
            throw new InvalidDataException($"The {width} x {height} image is too large for one managed array.");
        }

        var pixels = new byte[size];
        fixed (byte* buffer = pixels)
        {
            NativeStatus.Check(NativeMethods.bni_image_copy_to(image, buffer, pixels.Length));
        }

        return new BgrImage(width, height, channels, pixels);
    }

    /// <summary>
    /// Resizes the region (<paramref name="x"/>, <paramref name="y"/>, <paramref name="width"/>,
    /// <paramref name="height"/>) of <paramref name="source"/> to <paramref name="targetWidth"/> ×
    /// <paramref name="targetHeight"/> with OpenCV's cv::resize; the result has the source's channels.
    /// <paramref name="filter"/> defaults to <see cref="ResizeFilter.Auto"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A size is not positive, or the region does not lie inside the image.</exception>
    public static BgrImage Resize(BgrImage source, int x, int y, int width, int height, int targetWidth, int targetHeight, ResizeFilter filter = ResizeFilter.Auto)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfNegative(x);
        ArgumentOutOfRangeException.ThrowIfNegative(y);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetHeight);
        if ((long)x + width > source.Width)
        {
            throw new ArgumentOutOfRangeException(nameof(width), width,
                $"The region from x = {x} with width {width} ends past the image's width {source.Width}.");
        }

        if ((long)y + height > source.Height)
        {
            throw new ArgumentOutOfRangeException(nameof(height), height,
                $"The region from y = {y} with height {height} ends past the image's height {source.Height}.");
        }

        long size = (long)targetWidth * targetHeight * source.Channels;
        if (size > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(nameof(targetWidth), $"A {targetWidth} x {targetHeight} image is too large for one managed array.");
        }

        int interpolation = Interpolation(filter, width, height, targetWidth, targetHeight);
        var pixels = new byte[size];
        fixed (byte* from = source.Pixels)
        fixed (byte* to = pixels)
        {
            NativeStatus.Check(NativeMethods.bni_image_resize(
                from, source.Width, source.Height, source.Channels, x, y, width, height, to, targetWidth, targetHeight, interpolation));
        }

        return new BgrImage(targetWidth, targetHeight, source.Channels, pixels);
    }

    /// <summary>Encodes <paramref name="image"/> as PNG with OpenCV's cv::imencode (default compression).</summary>
    public static byte[] EncodePng(BgrImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        IntPtr error;
        IntPtr encoded;
        fixed (byte* pixels = image.Pixels)
        {
            error = NativeMethods.bni_image_encode_png(pixels, image.Width, image.Height, image.Channels, out encoded);
        }

        NativeStatus.Check(error);
        using var buffer = new NativeBufferHandle(encoded);
        return new ReadOnlySpan<byte>(NativeMethods.bni_buffer_data(buffer), checked((int)NativeMethods.bni_buffer_size(buffer))).ToArray();
    }

    // cv::InterpolationFlags codes, as bni_image_resize takes them.
    private static int Interpolation(ResizeFilter filter, int width, int height, int targetWidth, int targetHeight) => filter switch
    {
        // Shrinking along one axis while keeping the other is still decimation, which Area handles
        // without the aliasing Linear gives; an unchanged size is a plain copy either way.
        ResizeFilter.Auto => targetWidth <= width && targetHeight <= height ? 3 : 1,
        ResizeFilter.Area => 3,
        ResizeFilter.Linear => 1,
        ResizeFilter.Nearest => 0,
        ResizeFilter.Cubic => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(filter), filter, "Unknown resize filter."),
    };
}
