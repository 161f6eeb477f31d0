using System.Buffers.Binary;

namespace MLNet.BNInception.Tests.Images;

/// <summary>Writes a valid baseline TIFF (little-endian, 8-bit RGB, uncompressed, one strip): a real image SkiaSharp cannot decode.</summary>
internal static class TiffWriter
{
    public static byte[] WriteRgb(int width, int height, byte r, byte g, byte b)
    {
        (ushort Tag, ushort Type, uint Value)[] entries =
        [
            (256, 4, (uint)width), // ImageWidth
            (257, 4, (uint)height), // ImageLength
            (258, 3, 8), // BitsPerSample (8 for each sample; one value stands for all three here)
            (259, 3, 1), // Compression: none
            (262, 3, 2), // PhotometricInterpretation: RGB
            (273, 4, 0), // StripOffsets: patched below
            (277, 3, 3), // SamplesPerPixel
            (278, 4, (uint)height), // RowsPerStrip
            (279, 4, (uint)(width * height * 3)), // StripByteCounts
        ];
        int ifdLength = 2 + (entries.Length * 12) + 4;
        int pixelsAt = 8 + ifdLength;
        var file = new byte[pixelsAt + (width * height * 3)];
        "II"u8.CopyTo(file);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(2), 42);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(4), 8);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(8), (ushort)entries.Length);
        for (int i = 0; i < entries.Length; i++)
        {
            Span<byte> entry = file.AsSpan(10 + (i * 12), 12);
            (ushort tag, ushort type, uint value) = entries[i];
            BinaryPrimitives.WriteUInt16LittleEndian(entry, tag);
            BinaryPrimitives.WriteUInt16LittleEndian(entry[2..], type);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], 1);
            uint stored = tag == 273 ? (uint)pixelsAt : value;
            if (type == 3)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(entry[8..], (ushort)stored);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], stored);
            }
        }

        for (int p = pixelsAt; p < file.Length; p += 3)
        {
            (file[p], file[p + 1], file[p + 2]) = (r, g, b);
        }

        return file;
    }
}
