namespace MLNet.BNInception.Imaging;

/// <summary>
/// An 8-bit interleaved image in managed memory: rows top to bottom, no row padding, channels in
/// OpenCV's BGR order (1 channel = gray, 3 = blue, green, red).
/// </summary>
public sealed class BgrImage
{
    /// <summary>
    /// Wraps <paramref name="pixels"/> (not copied) as a <paramref name="width"/> × <paramref name="height"/>
    /// image of <paramref name="channels"/> channels.
    /// </summary>
    /// <exception cref="ArgumentException">A size is not positive, channels is not 1 or 3, or the pixel count does not match.</exception>
    public BgrImage(int width, int height, int channels, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if (channels is not (1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "An image has 1 (gray) or 3 (BGR) channels.");
        }

        ArgumentNullException.ThrowIfNull(pixels);
        long expected = (long)width * height * channels;
        if (pixels.LongLength != expected)
        {
            throw new ArgumentException(
                $"A {width} x {height} image of {channels} channel(s) has {expected} bytes, but {pixels.LongLength} were given.", nameof(pixels));
        }

        Width = width;
        Height = height;
        Channels = channels;
        Pixels = pixels;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Channels per pixel: 1 (gray) or 3 (BGR).</summary>
    public int Channels { get; }

    /// <summary>The pixels, <see cref="Width"/> × <see cref="Height"/> × <see cref="Channels"/> bytes, row by row.</summary>
    public byte[] Pixels { get; }
}
