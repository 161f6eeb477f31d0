using MLNet.BNInception.Images;
using SkiaSharp;

namespace MLNet.BNInception.Tests.Images;

/// <summary>
/// The damaged and unusual files of the failure tests, made here, byte by byte or with SkiaSharp's encoders:
/// every way a new user's image folder can go wrong that ML.NET's LoadImages loads silently or fails on
/// without naming the row or file.
/// </summary>
internal static class DamagedImageCorpus
{
    public static readonly DamagedImage[] Cases =
    [
        new("JPEG cut off halfway", "truncated.jpg", InvalidImageReason.Truncated, "ends before its JPEG image data does"),
        new("JPEG cut off inside its header", "truncated-header.jpg", InvalidImageReason.Truncated, "cut off inside its header"),
        new("JPEG whose second half is zeros", "zero-tail.jpg", InvalidImageReason.Truncated, "no JPEG end-of-image marker"),
        new("PNG cut off halfway", "truncated.png", InvalidImageReason.Truncated, "ends before its PNG image data does"),
        new("WEBP cut off halfway", "truncated.webp", InvalidImageReason.Truncated, "ends before its WEBP image data does"),
        new("WEBP cut off inside a chunk", "cut-chunk.webp", InvalidImageReason.Truncated, "its header says"),
        new("GIF cut off halfway", "truncated.gif", InvalidImageReason.Truncated, "ends before its GIF image data does"),
        new("PNG with damaged compressed data", "corrupt.png", InvalidImageReason.Corrupt, "damaged PNG image data"),
        // Whole (it ends with IEND), so not cut off, though the decoder reports its header as incomplete.
        new("whole PNG whose header's checksum is damaged", "bad-header-crc.png", InvalidImageReason.Corrupt, "starts like a PNG file but its header is damaged"),
        new("zero-byte file", "empty.jpg", InvalidImageReason.EmptyFile, "is empty (0 bytes)"),
        new("directory named like an image", "folder.jpg", InvalidImageReason.Directory, "is a directory"),
        new("missing file", "missing.jpg", InvalidImageReason.FileNotFound, "no file exists at"),
        new("text file named .png", "notes.png", InvalidImageReason.NotAnImage, "is not an image"),
        new("TIFF image", "scan.tiff", InvalidImageReason.UnsupportedFormat, "TIFF image, which SkiaSharp cannot decode"),
        new("empty path", "", InvalidImageReason.EmptyPath, "the path is empty"),
        new("path of spaces", "   ", InvalidImageReason.EmptyPath, "the path is empty"),
    ];

    /// <summary>Writes every damaged file into <paramref name="folder"/> (the missing one excepted).</summary>
    public static void WriteTo(string folder)
    {
        string In(string name) => Path.Combine(folder, name);

        using SKBitmap noise = TestImages.Noise(96, 96, seed: 7);
        byte[] jpeg = TestImages.Encode(noise, SKEncodedImageFormat.Jpeg, 90);
        byte[] png = TestImages.Encode(noise, SKEncodedImageFormat.Png);

        File.WriteAllBytes(In("truncated.jpg"), jpeg[..(jpeg.Length / 2)]);
        File.WriteAllBytes(In("truncated-header.jpg"), jpeg[..100]);
        byte[] zeroTail = (byte[])jpeg.Clone();
        Array.Clear(zeroTail, jpeg.Length / 2, jpeg.Length - (jpeg.Length / 2));
        File.WriteAllBytes(In("zero-tail.jpg"), zeroTail);
        File.WriteAllBytes(In("truncated.png"), png[..(png.Length / 2)]);
        File.WriteAllBytes(In("corrupt.png"), WithDamagedMiddle(png));
        byte[] badHeaderCrc = (byte[])png.Clone();
        badHeaderCrc[29] ^= 0xFF; // the IHDR chunk's CRC: bytes 29 to 32, after the signature (8) and the chunk's length, type and 13 bytes of data
        File.WriteAllBytes(In("bad-header-crc.png"), badHeaderCrc);
        byte[] webp = TestImages.Encode(noise, SKEncodedImageFormat.Webp, 90);
        File.WriteAllBytes(In("truncated.webp"), webp[..(webp.Length / 2)]);
        // A flat image compresses so well that half its file ends inside a chunk, where SkiaSharp's WEBP codec
        // reports invalid input rather than incomplete input.
        using (SKBitmap flat = TestImages.Draw(640, 480, new SKColor(200, 30, 40), canvas => canvas.Fill(0, 0, 100, 100, new SKColor(10, 200, 90))))
        {
            byte[] flatWebp = TestImages.Encode(flat, SKEncodedImageFormat.Webp, 90);
            File.WriteAllBytes(In("cut-chunk.webp"), flatWebp[..(flatWebp.Length / 2)]);
        }

        var random = new Random(11);
        byte[] gif = GifWriter.Write(64, 64, [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255],
            [.. Enumerable.Range(0, 64 * 64).Select(_ => (byte)random.Next(4))]);
        File.WriteAllBytes(In("truncated.gif"), gif[..(gif.Length / 2)]);
        File.WriteAllBytes(In("empty.jpg"), []);
        Directory.CreateDirectory(In("folder.jpg"));
        File.WriteAllText(In("notes.png"), "Shopping list: milk, eggs.\nThis file was renamed by mistake.\n");
        File.WriteAllBytes(In("scan.tiff"), TiffWriter.WriteRgb(4, 4, 10, 20, 30));
    }

    // Flips bits in the middle of the file, well inside the IDAT chunk of a 96x96 noise image: zlib's and
    // the chunk's checksums no longer match.
    private static byte[] WithDamagedMiddle(byte[] png)
    {
        byte[] damaged = (byte[])png.Clone();
        for (int i = png.Length / 2; i < (png.Length / 2) + 64; i++)
        {
            damaged[i] ^= 0x5A;
        }

        return damaged;
    }
}
