using static TorchSharp.torch;
using System.Buffers.Binary;
using System.Text;
using static MLNet.BNInception.Engine.Interop.PickleOpcodes;

namespace MLNet.BNInception.Engine.Interop;

/// <summary>
/// Writes the pickle (protocol 2) that torch.save writes for a state dict: an
/// <c>collections.OrderedDict</c> whose values are <c>torch._utils._rebuild_tensor_v2</c> calls on
/// persistent storage references. No memo is written: nothing is referenced twice.
/// </summary>
internal sealed class PickleWriter
{
    private readonly MemoryStream _output = new();

    /// <summary>One state-dict entry: its key, the storage's record key, element type and shape.</summary>
    public readonly record struct Entry(string Name, string StorageKey, ScalarType Type, long[] Shape);

    public static byte[] WriteStateDict(IReadOnlyList<Entry> entries)
    {
        var writer = new PickleWriter();
        writer.Op(Proto).Byte(2);
        writer.Global("collections", "OrderedDict").Op(EmptyTuple).Op(Reduce);
        if (entries.Count > 0)
        {
            writer.Op(Mark);
            foreach (Entry entry in entries)
            {
                writer.String(entry.Name);
                writer.Tensor(entry);
            }

            writer.Op(SetItems);
        }

        writer.Op(Stop);
        return writer._output.ToArray();
    }

    private void Tensor(Entry entry)
    {
        long elementCount = entry.Shape.Aggregate(1L, (product, size) => product * size);
        Global("torch._utils", "_rebuild_tensor_v2").Op(Mark);
        Op(Mark).String("storage").Global("torch", StorageTypes.NameOf(entry.Type)).String(entry.StorageKey).String("cpu").Int(elementCount).Op(PickleOpcodes.Tuple);
        Op(BinPersId);
        Int(0); // storage offset: every tensor is written compact, in a storage of its own
        IntTuple(entry.Shape);
        IntTuple(ContiguousStrides(entry.Shape));
        Op(NewFalse); // requires_grad
        Global("collections", "OrderedDict").Op(EmptyTuple).Op(Reduce); // backward hooks: none
        Op(PickleOpcodes.Tuple).Op(Reduce);
    }

    private static long[] ContiguousStrides(long[] shape)
    {
        var strides = new long[shape.Length];
        long stride = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = stride;
            stride *= Math.Max(shape[i], 1);
        }

        return strides;
    }

    private PickleWriter IntTuple(long[] values)
    {
        if (values.Length == 0)
        {
            return Op(EmptyTuple);
        }

        Op(Mark);
        foreach (long value in values)
        {
            Int(value);
        }

        return Op(PickleOpcodes.Tuple);
    }

    private PickleWriter Int(long value)
    {
        Span<byte> buffer = stackalloc byte[8];
        if (value is >= 0 and <= byte.MaxValue)
        {
            return Op(BinInt1).Byte((byte)value);
        }

        if (value is >= 0 and <= ushort.MaxValue)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(buffer, (ushort)value);
            return Op(BinInt2).Bytes(buffer[..2]);
        }

        if (value is >= int.MinValue and <= int.MaxValue)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer, (int)value);
            return Op(BinInt).Bytes(buffer[..4]);
        }

        BinaryPrimitives.WriteInt64LittleEndian(buffer, value);
        return Op(Long1).Byte(8).Bytes(buffer);
    }

    private PickleWriter String(string value)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(value);
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, utf8.Length);
        return Op(BinUnicode).Bytes(length).Bytes(utf8);
    }

    private PickleWriter Global(string module, string name) => Op(PickleOpcodes.Global).Bytes(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));

    private PickleWriter Op(byte opcode) => Byte(opcode);

    private PickleWriter Byte(byte value)
    {
        _output.WriteByte(value);
        return this;
    }

    private PickleWriter Bytes(ReadOnlySpan<byte> values)
    {
        _output.Write(values);
        return this;
    }
}
