using System.Buffers.Binary;
using System.Text;

namespace MLNet.BNInception.Images;

/// <summary>
/// Names an image format from a file's first bytes, to tell apart, once SkiaSharp has refused a file, a
/// damaged image of a format it decodes, an image of a format it cannot decode, and a file that is not
/// an image at all. SkiaSharp's own verdict is only a result code, the same for all three.
/// </summary>
internal static class ImageFormatSignature
{
    /// <summary>Enough leading bytes for every signature below.</summary>
    public const int HeaderLength = 16;

    /// <summary>The formats SkiaSharp decodes, for messages that say what would be valid.</summary>
    public const string DecodableFormats = "JPEG, PNG, GIF, WEBP, BMP, ICO, WBMP";

    /// <summary>The format SkiaSharp decodes whose signature <paramref name="header"/> starts with, or null.</summary>
    public static string? Decodable(ReadOnlySpan<byte> header) => header switch
    {
        [0xFF, 0xD8, 0xFF, ..] => "JPEG",
        [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => "PNG",
        [(byte)'G', (byte)'I', (byte)'F', (byte)'8', (byte)'7' or (byte)'9', (byte)'a', ..] => "GIF",
        [(byte)'R', (byte)'I', (byte)'F', (byte)'F', _, _, _, _, (byte)'W', (byte)'E', (byte)'B', (byte)'P', ..] => "WEBP",
        [(byte)'B', (byte)'M', ..] => "BMP",
        [0, 0, 1 or 2, 0, ..] => "ICO",
        _ => null,
    };

    /// <summary>The image format SkiaSharp cannot decode whose signature <paramref name="header"/> starts with, or null.</summary>
    public static string? Undecodable(ReadOnlySpan<byte> header) => header switch
    {
        [(byte)'I', (byte)'I', 0x2A, 0, ..] or [(byte)'M', (byte)'M', 0, 0x2A, ..] => "TIFF",
        [_, _, _, _, (byte)'f', (byte)'t', (byte)'y', (byte)'p', (byte)'a', (byte)'v', (byte)'i', (byte)'f' or (byte)'s', ..] => "AVIF",
        [_, _, _, _, (byte)'f', (byte)'t', (byte)'y', (byte)'p', ..] => "HEIF",
        [(byte)'8', (byte)'B', (byte)'P', (byte)'S', ..] => "PSD",
        [0, 0, 0, 0x0C, (byte)'j', (byte)'P', ..] => "JPEG 2000",
        [0xFF, 0x4F, 0xFF, 0x51, ..] => "JPEG 2000",
        [0xFF, 0x0A, ..] or [0, 0, 0, 0x0C, (byte)'J', (byte)'X', (byte)'L', ..] => "JPEG XL",
        [(byte)'q', (byte)'o', (byte)'i', (byte)'f', ..] => "QOI",
        [(byte)'D', (byte)'D', (byte)'S', (byte)' ', ..] => "DDS",
        [0x76, 0x2F, 0x31, 0x01, ..] => "OpenEXR",
        _ => null,
    };

    /// <summary>
    /// The file length the header states, for the formats whose header states one (WEBP's RIFF size, BMP's
    /// file size), or null: a file shorter than that was cut off, whatever the decoder calls its failure.
    /// </summary>
    public static long? DeclaredLength(ReadOnlySpan<byte> header) => Decodable(header) switch
    {
        "WEBP" => 8L + BinaryPrimitives.ReadUInt32LittleEndian(header[4..]),
        "BMP" when header.Length >= 6 => BinaryPrimitives.ReadUInt32LittleEndian(header[2..]),
        _ => null,
    };

    /// <summary>
    /// True when <paramref name="file"/> ends as a whole file of its format does: a PNG with its IEND
    /// chunk (length 0, type, CRC AE426082), a JPEG with its end-of-image marker (FFD9).
    /// </summary>
    public static bool EndsWhole(ReadOnlySpan<byte> file) => Decodable(file) switch
    {
        "PNG" => file.EndsWith(PngEnd),
        "JPEG" => file.EndsWith(JpegEnd),
        _ => false,
    };

    private static ReadOnlySpan<byte> PngEnd => [0, 0, 0, 0, (byte)'I', (byte)'E', (byte)'N', (byte)'D', 0xAE, 0x42, 0x60, 0x82];

    private static ReadOnlySpan<byte> JpegEnd => [0xFF, 0xD9];

    /// <summary>The first bytes in hex and as text, so a message shows what the file holds instead.</summary>
    public static string Describe(ReadOnlySpan<byte> header)
    {
        ReadOnlySpan<byte> shown = header[..Math.Min(header.Length, 8)];
        var text = new StringBuilder(shown.Length);
        foreach (byte b in shown)
        {
            text.Append(b is >= 0x20 and < 0x7F ? (char)b : '.');
        }

        return $"{Convert.ToHexString(shown)} \"{text}\"";
    }
}
