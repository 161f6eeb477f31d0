using System.Buffers.Binary;

namespace MLNet.BNInception.Images;

/// <summary>What a JPEG's frame header (its SOFn marker) says about how it is coded.</summary>
internal static class JpegFrame
{
    /// <summary>
    /// True when the first frame header of <paramref name="jpeg"/> is progressive (SOF2, SOF6, SOF10 or SOF14),
    /// found by walking the segments before the first scan.
    /// </summary>
    public static bool IsProgressive(ReadOnlySpan<byte> jpeg) =>
        FirstFrameHeader(jpeg) is { } at && (jpeg[at + 1] & 0x03) == 0x02;

    /// <summary>
    /// Why SkiaSharp's JPEG decoder (libjpeg-turbo built for 8-bit samples) cannot decode <paramref name="jpeg"/>,
    /// judged from its first frame header: "lossless", "hierarchical" or "12-bit", say; null when the header
    /// is one it decodes, or when there is none to judge. These are real JPEGs (medical and archival images
    /// use them), not damaged ones.
    /// </summary>
    public static string? UndecodableCoding(ReadOnlySpan<byte> jpeg)
    {
        if (FirstFrameHeader(jpeg) is not { } at || at + 4 >= jpeg.Length)
        {
            return null;
        }

        // ITU T.81, table B.1: C3, C7, CB and CF are lossless; C5 to C7 and CD to CF differential
        // (hierarchical). C0 to C2 and C9 to CA are the sequential and progressive processes it decodes.
        byte marker = jpeg[at + 1];
        string? process = marker switch
        {
            0xC3 or 0xCB => "lossless",
            0xC7 or 0xCF => "hierarchical lossless",
            0xC5 or 0xC6 or 0xCD or 0xCE => "hierarchical",
            _ => null,
        };
        byte precision = jpeg[at + 4];
        string? samples = precision == 8 ? null : $"{precision}-bit";
        return process is null && samples is null ? null : string.Join(" ", new[] { samples, process }.OfType<string>());
    }

    // Where the first frame header's marker (FF then C0 to CF, less C4, C8 and CC) starts, found by walking the
    // segments before the first scan; null when a scan or the end of the bytes comes first.
    private static int? FirstFrameHeader(ReadOnlySpan<byte> jpeg)
    {
        int at = 2; // after the start-of-image marker
        while (at + 3 < jpeg.Length && jpeg[at] == 0xFF)
        {
            byte marker = jpeg[at + 1];
            if (marker == 0xFF)
            {
                at++; // fill byte
                continue;
            }

            // C4 (Huffman tables), C8 (reserved) and CC (arithmetic conditioning) share the SOF range
            // without being frame headers.
            if (marker is >= 0xC0 and <= 0xCF and not (0xC4 or 0xC8 or 0xCC))
            {
                return at;
            }

            if (marker == 0xDA)
            {
                return null; // a scan before any frame header: not a JPEG this can judge
            }

            at += 2 + BinaryPrimitives.ReadUInt16BigEndian(jpeg[(at + 2)..]);
        }

        return null;
    }
}
