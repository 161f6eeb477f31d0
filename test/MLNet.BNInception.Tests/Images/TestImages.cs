using SkiaSharp;

namespace MLNet.BNInception.Tests.Images;

/// <summary>Images drawn and encoded with SkiaSharp (JPEG, PNG, WEBP are what its encoders write), and pixel reads from the loader's output.</summary>
internal static class TestImages
{
    /// <summary>A width x height image filled with <paramref name="background"/>, with <paramref name="draw"/> applied.</summary>
    public static SKBitmap Draw(int width, int height, SKColor background, Action<SKCanvas>? draw = null)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Bgra8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        canvas.Clear(background);
        draw?.Invoke(canvas);
        return bitmap;
    }

    /// <summary>Fills the rectangle (x, y, width, height) with <paramref name="color"/>, without antialiasing.</summary>
    public static void Fill(this SKCanvas canvas, int x, int y, int width, int height, SKColor color)
    {
        using var paint = new SKPaint { Color = color, IsAntialias = false };
        canvas.DrawRect(x, y, width, height, paint);
    }

    public static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality = 100)
    {
        using SKData data = bitmap.Encode(format, quality)
            ?? throw new InvalidOperationException($"SkiaSharp cannot encode {format}.");
        return data.ToArray();
    }

    public static byte[] SolidJpeg(int width, int height, SKColor color)
    {
        using SKBitmap bitmap = Draw(width, height, color);
        return Encode(bitmap, SKEncodedImageFormat.Jpeg);
    }

    public static byte[] SolidPng(int width, int height, SKColor color)
    {
        using SKBitmap bitmap = Draw(width, height, color);
        return Encode(bitmap, SKEncodedImageFormat.Png);
    }

    /// <summary>Random pixels: compressed data that fills the whole file, so cutting the file cuts image data.</summary>
    public static SKBitmap Noise(int width, int height, int seed)
    {
        var random = new Random(seed);
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Bgra8888, SKAlphaType.Opaque));
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
            }
        }

        return bitmap;
    }

    /// <summary>The pixel at (x, y) of an image from the loader, as straight RGBA from its BGRA bytes.</summary>
    public static (byte R, byte G, byte B, byte A) Pixel(MLImage image, int x, int y)
    {
        Assert.That(image.PixelFormat, Is.EqualTo(MLPixelFormat.Bgra32), "the loader gives BGRA, as ML.NET's loader does");
        ReadOnlySpan<byte> bgra = image.Pixels.Slice(((y * image.Width) + x) * 4, 4);
        return (bgra[2], bgra[1], bgra[0], bgra[3]);
    }

    /// <summary>Fails unless each channel of <paramref name="actual"/> is within <paramref name="tolerance"/> of <paramref name="expected"/>.</summary>
    public static void AssertColor((byte R, byte G, byte B, byte A) actual, (int R, int G, int B, int A) expected, int tolerance, string where)
    {
        Assert.That(new[] { actual.R, actual.G, actual.B, actual.A }.Select(v => (int)v),
            Is.EqualTo(new[] { expected.R, expected.G, expected.B, expected.A }).Within(tolerance),
            $"{where}: got RGBA {actual}, expected {expected} ±{tolerance}");
    }
}
