namespace MLNet.BNInception.Tests.Images;

/// <summary>
/// Writes an animated GIF89a byte by byte (SkiaSharp has no GIF encoder): a 4-colour global palette, a
/// NETSCAPE2.0 loop, and full-size frames. The LZW stream sends a clear code before every second pixel, so
/// the code table never grows past 3-bit codes and the encoder needs no dictionary.
/// </summary>
internal static class GifWriter
{
    private const int ClearCode = 4; // 2^(minimum code size 2)
    private const int EndCode = 5;

    /// <param name="palette">Four RGB triples.</param>
    /// <param name="frames">Per frame, width * height palette indices (0 to 3), row after row.</param>
    public static byte[] Write(int width, int height, byte[] palette, params byte[][] frames)
    {
        var file = new MemoryStream();
        file.Write("GIF89a"u8);
        // Logical screen; 0xF1: global colour table, 8 bits of colour resolution, 2^(1+1) = 4 entries.
        file.Write([(byte)width, (byte)(width >> 8), (byte)height, (byte)(height >> 8), 0xF1, 0, 0]);
        file.Write(palette);
        file.Write([0x21, 0xFF, 11, .. "NETSCAPE2.0"u8, 3, 1, 0, 0, 0]);
        foreach (byte[] indices in frames)
        {
            // Graphic control: disposal "leave in place", 0.1 s, no transparency.
            file.Write([0x21, 0xF9, 4, 0x04, 10, 0, 0, 0]);
            file.Write([0x2C, 0, 0, 0, 0, (byte)width, (byte)(width >> 8), (byte)height, (byte)(height >> 8), 0]);
            file.WriteByte(2); // LZW minimum code size
            byte[] data = Lzw(indices);
            for (int at = 0; at < data.Length; at += 255)
            {
                int length = Math.Min(255, data.Length - at);
                file.WriteByte((byte)length);
                file.Write(data, at, length);
            }

            file.WriteByte(0);
        }

        file.WriteByte(0x3B);
        return file.ToArray();
    }

    private static byte[] Lzw(byte[] indices)
    {
        var codes = new List<int>();
        for (int i = 0; i < indices.Length; i++)
        {
            if (i % 2 == 0)
            {
                codes.Add(ClearCode);
            }

            codes.Add(indices[i]);
        }

        codes.Add(EndCode);
        var packed = new List<byte>();
        int pending = 0;
        int count = 0;
        foreach (int code in codes)
        {
            pending |= code << count; // GIF packs codes least significant bit first
            count += 3;
            while (count >= 8)
            {
                packed.Add((byte)pending);
                pending >>= 8;
                count -= 8;
            }
        }

        if (count > 0)
        {
            packed.Add((byte)pending);
        }

        return [.. packed];
    }
}
