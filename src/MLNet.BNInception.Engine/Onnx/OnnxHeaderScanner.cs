using System.Text;

namespace MLNet.BNInception.Engine.Onnx;

/// <summary>
/// Reads an ONNX model's producer name by walking its top-level protobuf fields as they stream past,
/// keeping none of them: a parse would allocate every string it meets, so a file claiming a producer
/// name of gigabytes (a junk entry beside a model, say) would cost that much memory just to be told
/// apart. Each field's length is still checked against the stream, so a truncated file is told too.
/// </summary>
internal static class OnnxHeaderScanner
{
    // ModelProto's fields this reads: ir_version (1), producer_name (2) and graph (7), whose presence
    // tells a model from a few bytes that merely parse as protobuf.
    private const int IrVersionField = 1, ProducerNameField = 2, GraphField = 7;
    private const int VarintWire = 0, Fixed64Wire = 1, LengthDelimitedWire = 2, Fixed32Wire = 5;

    /// <summary>A longer producer name is not read: no producer writes one.</summary>
    public const int MaxProducerNameBytes = 1024;

    /// <summary>The producer name, or null when <paramref name="onnx"/> is not a whole ONNX model's top level.</summary>
    public static string? ReadProducerName(Stream onnx)
    {
        long irVersion = 0;
        string producer = "";
        bool hasGraph = false;
        try
        {
            while (TryReadVarint(onnx, atFieldStart: true, out ulong tag))
            {
                int field = (int)Math.Min(tag >> 3, int.MaxValue), wire = (int)(tag & 7);
                if (field == 0 || (field is IrVersionField && wire != VarintWire) || (field is ProducerNameField or GraphField && wire != LengthDelimitedWire))
                {
                    return null;
                }

                switch (wire)
                {
                    case VarintWire:
                        TryReadVarint(onnx, atFieldStart: false, out ulong value);
                        irVersion = field == IrVersionField ? (long)value : irVersion;
                        break;
                    case Fixed64Wire:
                        Skip(onnx, 8);
                        break;
                    case Fixed32Wire:
                        Skip(onnx, 4);
                        break;
                    case LengthDelimitedWire:
                        TryReadVarint(onnx, atFieldStart: false, out ulong length);
                        if (field == ProducerNameField && length <= MaxProducerNameBytes)
                        {
                            byte[] name = new byte[length];
                            onnx.ReadExactly(name);
                            producer = Encoding.UTF8.GetString(name);
                        }
                        else
                        {
                            Skip(onnx, length);
                            producer = field == ProducerNameField ? $"a name of {length} bytes" : producer;
                        }

                        hasGraph |= field == GraphField;
                        break;
                    default:
                        return null;   // groups and unknown wire types: no ONNX model has them
                }
            }
        }
        catch (EndOfStreamException)
        {
            return null;
        }

        return irVersion <= 0 || !hasGraph ? null : producer;
    }

    // False at the end of the stream where a field may start; the end anywhere else is a truncation.
    private static bool TryReadVarint(Stream stream, bool atFieldStart, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            int next = stream.ReadByte();
            if (next < 0)
            {
                return shift == 0 && atFieldStart ? false : throw new EndOfStreamException();
            }

            value |= (ulong)(next & 0x7F) << shift;
            if ((next & 0x80) == 0)
            {
                return true;
            }
        }

        throw new EndOfStreamException();   // more than 10 bytes: not a varint, so not protobuf
    }

    private static void Skip(Stream stream, ulong count)
    {
        if (stream.CanSeek)
        {
            if (count > (ulong)(stream.Length - stream.Position))
            {
                throw new EndOfStreamException();
            }

            stream.Seek((long)count, SeekOrigin.Current);
            return;
        }

        byte[] buffer = new byte[(int)Math.Min(count, 64 * 1024)];
        while (count > 0)
        {
            int read = stream.Read(buffer, 0, (int)Math.Min(count, (ulong)buffer.Length));
            if (read == 0)
            {
                throw new EndOfStreamException();
            }

            count -= (ulong)read;
        }
    }
}
