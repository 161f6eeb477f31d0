using System.Buffers.Binary;

namespace MLNet.BNInception.Images;

/// <summary>What a JPEG's frame header (its SOFn marker) says about how it is coded.</summary>
internal static class JpegFrame
{
    /// <summary>
    /// True when the first frame header of <paramref name="jpeg"/> is progressive (SOF2, SOF6, SOF10 or SOF14),
    /// found by walking the segments before the first scan.
    /// </summary>
    public static bool IsProgressive(ReadOnlySpan<byte> jpeg)
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
                return (marker & 0x03) == 0x02;
            }

            if (marker == 0xDA)
            {
                return false; // a scan before any frame header: not a JPEG this can judge
            }

            at += 2 + BinaryPrimitives.ReadUInt16BigEndian(jpeg[(at + 2)..]);
        }

        return false;
    }
}
