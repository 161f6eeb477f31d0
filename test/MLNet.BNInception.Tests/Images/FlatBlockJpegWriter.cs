namespace MLNet.BNInception.Tests.Images;

/// <summary>
/// Writes baseline JPEGs (ITU T.81) whose 8x8 blocks are each one flat value per component: every AC
/// coefficient is zero, so the only entropy-coded values are the DC differences, Huffman-coded with the
/// standard luminance DC table. That is enough for exact colours in 1, 3 or 4 components, which is how the
/// tests make a CMYK JPEG (an Adobe APP14 marker with transform 0 says the four components are CMYK, not
/// YCCK) without an encoder that writes one. The quantisation table is all ones, and a flat block of value v
/// has DC coefficient 8 (v - 128), which decodes back to exactly v.
/// </summary>
internal static class FlatBlockJpegWriter
{
    // ITU T.81 table K.3: code lengths 1..16 and the categories they code.
    private static readonly byte[] DcCodeLengthCounts = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
    private static readonly byte[] DcCategories = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

    /// <summary>
    /// A width x height JPEG of <paramref name="components"/> components; block (bx, by) of component c has the
    /// value <paramref name="blockValue"/>(bx, by, c), stored as is (so CMYK values are the stored, Adobe-inverted ones).
    /// </summary>
    public static byte[] Write(int width, int height, int components, Func<int, int, int, byte> blockValue, bool adobeCmyk = false)
    {
        var file = new MemoryStream();
        file.Write([0xFF, 0xD8]);
        if (adobeCmyk)
        {
            // "Adobe", version 100, flags0 0, flags1 0, transform 0 (no colour transform: CMYK as stored).
            WriteSegment(file, 0xEE, [.. "Adobe"u8, 0, 100, 0, 0, 0, 0, 0]);
        }

        WriteSegment(file, 0xDB, [0, .. Enumerable.Repeat((byte)1, 64)]);
        var frame = new List<byte> { 8, (byte)(height >> 8), (byte)height, (byte)(width >> 8), (byte)width, (byte)components };
        var scan = new List<byte> { (byte)components };
        for (int c = 0; c < components; c++)
        {
            frame.AddRange([(byte)(c + 1), 0x11, 0]); // id, 1x1 sampling, quantisation table 0
            scan.AddRange([(byte)(c + 1), 0x00]); // id, DC table 0, AC table 0
        }

        scan.AddRange([0, 63, 0]);
        WriteSegment(file, 0xC0, [.. frame]);
        WriteSegment(file, 0xC4, [0x00, .. DcCodeLengthCounts, .. DcCategories]);
        // AC table 0 codes one symbol, end-of-block (0x00), as the single 1-bit code "0".
        WriteSegment(file, 0xC4, [0x10, 1, .. new byte[15], 0x00]);
        WriteSegment(file, 0xDA, [.. scan]);
        WriteEntropyCodedData(file, width, height, components, blockValue);
        file.Write([0xFF, 0xD9]);
        return file.ToArray();
    }

    private static void WriteEntropyCodedData(Stream file, int width, int height, int components, Func<int, int, int, byte> blockValue)
    {
        (int Code, int Length)[] codes = CanonicalCodes();
        var bits = new BitWriter(file);
        var previousDc = new int[components];
        for (int by = 0; by < (height + 7) / 8; by++)
        {
            for (int bx = 0; bx < (width + 7) / 8; bx++)
            {
                for (int c = 0; c < components; c++)
                {
                    int dc = 8 * (blockValue(bx, by, c) - 128);
                    int difference = dc - previousDc[c];
                    previousDc[c] = dc;
                    int category = 0;
                    while (Math.Abs(difference) >> category != 0)
                    {
                        category++;
                    }

                    bits.Write(codes[category].Code, codes[category].Length);
                    if (category > 0)
                    {
                        // Negative differences are sent as their one's complement in `category` bits.
                        bits.Write(difference < 0 ? difference - 1 : difference, category);
                    }

                    bits.Write(0, 1); // end of block
                }
            }
        }

        bits.PadWithOnes();
    }

    private static (int Code, int Length)[] CanonicalCodes()
    {
        var codes = new (int Code, int Length)[DcCategories.Length];
        int code = 0;
        int symbol = 0;
        for (int length = 1; length <= 16; length++)
        {
            for (int i = 0; i < DcCodeLengthCounts[length - 1]; i++)
            {
                codes[DcCategories[symbol++]] = (code++, length);
            }

            code <<= 1;
        }

        return codes;
    }

    private static void WriteSegment(Stream file, byte marker, byte[] body)
    {
        int length = body.Length + 2;
        file.Write([0xFF, marker, (byte)(length >> 8), (byte)length]);
        file.Write(body);
    }

    private sealed class BitWriter(Stream file)
    {
        private int _pending;
        private int _count;

        public void Write(int value, int length)
        {
            for (int i = length - 1; i >= 0; i--)
            {
                _pending = (_pending << 1) | ((value >> i) & 1);
                if (++_count == 8)
                {
                    file.WriteByte((byte)_pending);
                    if (_pending == 0xFF)
                    {
                        file.WriteByte(0); // byte stuffing: 0xFF in the data is followed by 0x00
                    }

                    _pending = 0;
                    _count = 0;
                }
            }
        }

        public void PadWithOnes()
        {
            if (_count > 0)
            {
                Write(0x7F, 8 - _count);
            }
        }
    }
}
