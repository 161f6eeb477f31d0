namespace MLNet.BNInception.Tests.Images;

/// <summary>
/// Adds an EXIF APP1 segment holding only the Orientation tag (0x0112) to a JPEG, right after its SOI marker,
/// where the EXIF standard puts it.
/// </summary>
internal static class ExifOrientation
{
    public static byte[] Insert(byte[] jpeg, int orientation)
    {
        byte[] tiff =
        [
            (byte)'M', (byte)'M', 0, 42, 0, 0, 0, 8, // big-endian TIFF header, IFD0 at offset 8
            0, 1, // one entry
            0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, (byte)orientation, 0, 0, // Orientation, SHORT, count 1, value
            0, 0, 0, 0, // no next IFD
        ];
        byte[] body = [.. "Exif\0\0"u8, .. tiff];
        int length = body.Length + 2;
        return [0xFF, 0xD8, 0xFF, 0xE1, (byte)(length >> 8), (byte)length, .. body, .. jpeg.AsSpan(2)];
    }
}
