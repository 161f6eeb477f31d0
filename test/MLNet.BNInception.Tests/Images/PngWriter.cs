using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace MLNet.BNInception.Tests.Images;

/// <summary>
/// Writes PNG files byte by byte (signature, IHDR, gAMA, PLTE, tRNS, one IDAT, IEND), for the kinds
/// SkiaSharp's encoder does not make: 16-bit, palette, grayscale, a stated gamma. Rows are given already
/// packed as the PNG standard lays them out; each gets filter type 0 (none).
/// </summary>
internal static class PngWriter
{
    public const byte Grayscale = 0;
    public const byte Rgb = 2;
    public const byte Palette = 3;
    public const byte GrayscaleAlpha = 4;
    public const byte Rgba = 6;

    public static byte[] Write(int width, int height, byte bitDepth, byte colorType, Func<int, byte[]> packedRow,
        byte[]? palette = null, byte[]? transparency = null, uint? gamma = null)
    {
        var file = new MemoryStream();
        file.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = bitDepth;
        header[9] = colorType;
        WriteChunk(file, "IHDR", header);
        if (gamma is { } encodingGamma)
        {
            // gAMA holds 100000 times the gamma the samples were encoded with (1/2.2 is 45455).
            var value = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(value, encodingGamma);
            WriteChunk(file, "gAMA", value);
        }

        if (palette is not null)
        {
            WriteChunk(file, "PLTE", palette);
        }

        if (transparency is not null)
        {
            WriteChunk(file, "tRNS", transparency);
        }

        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (int y = 0; y < height; y++)
            {
                zlib.WriteByte(0);
                zlib.Write(packedRow(y));
            }
        }

        WriteChunk(file, "IDAT", compressed.ToArray());
        WriteChunk(file, "IEND", []);
        return file.ToArray();
    }

    private static void WriteChunk(Stream file, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        file.Write(word);
        byte[] typeAndData = [.. Encoding.ASCII.GetBytes(type), .. data];
        file.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typeAndData));
        file.Write(word);
    }

    // CRC-32 as the PNG standard (ISO 3309) defines it: reflected polynomial 0xEDB88320.
    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
            }
        }

        return ~crc;
    }
}
