namespace MLNet.BNInception.Imaging;

/// <summary>
/// Finds a JPEG's end-of-image marker by walking its segments. libjpeg decodes a truncated file
/// without failing (it warns and fills the missing rows with grey), so a missing marker is the
/// only reliable sign that the file was cut short.
/// </summary>
internal static class JpegStructure
{
    private const byte MarkerPrefix = 0xFF;
    private const byte StartOfImage = 0xD8;
    private const byte EndOfImage = 0xD9;

    /// <summary>True when the bytes start like a JPEG file (SOI followed by a marker), the signature OpenCV recognises.</summary>
    public static bool IsJpeg(ReadOnlySpan<byte> data) =>
        data.Length >= 3 && data[0] == MarkerPrefix && data[1] == StartOfImage && data[2] == MarkerPrefix;

    /// <summary>
    /// True when an end-of-image marker (FF D9) follows the file's segments. Segments with a length
    /// field are skipped whole, so an EXIF thumbnail's own FF D9 does not count; in entropy-coded
    /// data FF only appears stuffed (FF 00) or as a restart marker, so the first other marker there
    /// is real. Bytes after the marker (padding, or a video appended by a phone) are allowed.
    /// </summary>
    public static bool HasEndOfImage(ReadOnlySpan<byte> data)
    {
        int position = 2;
        while (true)
        {
            int next = data[position..].IndexOf(MarkerPrefix);
            if (next < 0)
            {
                return false;
            }

            position += next;
            while (position < data.Length && data[position] == MarkerPrefix)
            {
                position++; // FF fill bytes may precede any marker
            }

            if (position >= data.Length)
            {
                return false;
            }

            byte marker = data[position++];
            if (marker == EndOfImage)
            {
                return true;
            }

            // Stuffed zero, TEM, restart markers and a stray SOI carry no length field.
            if (marker is 0x00 or 0x01 or (>= 0xD0 and <= 0xD7) or StartOfImage)
            {
                continue;
            }

            if (position + 2 > data.Length)
            {
                return false;
            }

            int length = (data[position] << 8) | data[position + 1];
            if (length < 2 || position + length > data.Length)
            {
                return false;
            }

            position += length;
        }
    }
}
