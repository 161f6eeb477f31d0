namespace MLNet.BNInception.Images;

/// <summary>
/// Whether a JPEG's last scan is followed by its end-of-image marker. SkiaSharp's result code catches a file
/// that simply stops early, but not one whose unwritten end is zeros (a file preallocated at its full size, or
/// left by a crash on a file system that zero-fills unwritten blocks): libjpeg reads the zeros as image data,
/// warns, and SkiaSharp reports success for an image whose lower part is invented. Such a file never reaches
/// the end-of-image marker, which a complete JPEG always has.
/// </summary>
internal static class JpegEndOfImage
{
    private const byte MarkerPrefix = 0xFF;
    private const byte EndOfImage = 0xD9;
    private const byte StartOfScan = 0xDA;

    /// <summary>True when walking the segments of <paramref name="jpeg"/> from its start reaches an end-of-image marker.</summary>
    public static bool IsPresent(ReadOnlySpan<byte> jpeg)
    {
        int at = 2; // after the start-of-image marker
        while (at + 1 < jpeg.Length)
        {
            if (jpeg[at] != MarkerPrefix)
            {
                // Stray bytes between segments: libjpeg skips to the next marker, and so does this walk.
                int skipped = jpeg[at..].IndexOf(MarkerPrefix);
                if (skipped < 0)
                {
                    return false;
                }

                at += skipped;
                continue;
            }

            byte marker = jpeg[at + 1];
            if (marker == EndOfImage)
            {
                return true;
            }

            if (marker == MarkerPrefix || marker == 0x01 || marker is >= 0xD0 and <= 0xD7)
            {
                // Fill bytes, TEM and restart markers stand alone, without a length.
                at += marker == MarkerPrefix ? 1 : 2;
                continue;
            }

            if (at + 3 >= jpeg.Length)
            {
                return false;
            }

            at += 2 + ((jpeg[at + 2] << 8) | jpeg[at + 3]);
            if (marker == StartOfScan)
            {
                at = EndOfEntropyCodedData(jpeg, at);
            }
        }

        return false;
    }

    /// <summary>How many zero bytes <paramref name="data"/> ends with, for a message that shows why the marker is missing.</summary>
    public static int TrailingZeros(ReadOnlySpan<byte> data) => data.Length - 1 - data.LastIndexOfAnyExcept((byte)0);

    /// <summary>The position of the first marker after the entropy-coded data starting at <paramref name="at"/>, or the end.</summary>
    private static int EndOfEntropyCodedData(ReadOnlySpan<byte> jpeg, int at)
    {
        while (at < jpeg.Length)
        {
            int prefix = jpeg[at..].IndexOf(MarkerPrefix);
            if (prefix < 0 || at + prefix + 1 >= jpeg.Length)
            {
                return jpeg.Length;
            }

            at += prefix;
            byte next = jpeg[at + 1];
            // 0xFF 0x00 is a stuffed 0xFF data byte, and restart markers sit inside the data.
            if (next != 0x00 && next is not (>= 0xD0 and <= 0xD7))
            {
                return at;
            }

            at += 2;
        }

        return jpeg.Length;
    }
}
