using static TorchSharp.torch;
using System.Buffers.Binary;
using System.Text;
using static MLNet.BNInception.Engine.Interop.PickleOpcodes;

namespace MLNet.BNInception.Engine.Interop;

/// <summary>
/// Interprets the subset of pickle that torch.save produces (protocols 2 to 5) into plain values:
/// null, bool, long, double, string, byte[], object?[] (tuples), List (lists), <see cref="PickleDict"/>,
/// <see cref="StorageReference"/> and <see cref="TensorReference"/>. It builds no arbitrary objects:
/// a global it does not know is an error naming it, so a file cannot make it run anything.
/// </summary>
internal sealed class PickleReader
{
    private static readonly object MarkObject = new();

    private readonly byte[] _data;
    private readonly string _source;
    private readonly List<object?> _stack = [];
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = [];
    private int _position;

    private PickleReader(byte[] data, string source)
    {
        _data = data;
        _source = source;
    }

    /// <summary>Reads the pickle in <paramref name="data"/>; <paramref name="source"/> names it in errors.</summary>
    public static object? Read(byte[] data, string source) => new PickleReader(data, source).Run();

    private object? Run()
    {
        while (true)
        {
            int opcodePosition = _position;
            byte opcode = Byte();
            switch (opcode)
            {
                case Proto: Byte(); break;
                case Frame: Take(8); break;
                case Stop: return Pop();
                case PickleOpcodes.Mark: _marks.Push(_stack.Count); _stack.Add(MarkObject); break;
                case PickleOpcodes.Pop: Pop(); break;
                case PopMark: PopToMark(); break;
                case Dup: Push(Peek()); break;
                case PickleOpcodes.None: Push(null); break;
                case NewTrue: Push(true); break;
                case NewFalse: Push(false); break;
                case BinInt: Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case BinInt1: Push((long)Byte()); break;
                case BinInt2: Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case Long1: Push(LittleEndianInteger(Take(Byte()))); break;
                case Long4: Push(LittleEndianInteger(Take(Length32()))); break;
                case BinFloat: Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;
                case BinUnicode: Push(Encoding.UTF8.GetString(Take(Length32()))); break;
                case ShortBinUnicode: Push(Encoding.UTF8.GetString(Take(Byte()))); break;
                case BinUnicode8: Push(Encoding.UTF8.GetString(Take(Length64()))); break;
                case BinString: Push(Encoding.Latin1.GetString(Take(Length32()))); break;
                case ShortBinString: Push(Encoding.Latin1.GetString(Take(Byte()))); break;
                case BinBytes: Push(Take(Length32()).ToArray()); break;
                case ShortBinBytes: Push(Take(Byte()).ToArray()); break;
                case BinBytes8: Push(Take(Length64()).ToArray()); break;
                case EmptyTuple: Push(Array.Empty<object?>()); break;
                case PickleOpcodes.Tuple: Push(PopToMark().ToArray()); break;
                case Tuple1: Push(PopItems(1)); break;
                case Tuple2: Push(PopItems(2)); break;
                case Tuple3: Push(PopItems(3)); break;
                case EmptyList: Push(new List<object?>()); break;
                case PickleOpcodes.List: Push(PopToMark()); break;
                case Append: { object? item = Pop(); ListAt(Peek()).Add(item); break; }
                case Appends: { List<object?> items = PopToMark(); ListAt(Peek()).AddRange(items); break; }
                case EmptyDict: Push(new PickleDict()); break;
                case PickleOpcodes.Dict: Push(DictFrom(PopToMark())); break;
                case SetItem: { object? value = Pop(), key = Pop(); Store(DictAt(Peek()), key, value); break; }
                case SetItems: { List<object?> items = PopToMark(); AddPairs(DictAt(Peek()), items); break; }
                case EmptySet: Push(new List<object?>()); break;
                case AddItems: { List<object?> items = PopToMark(); ListAt(Peek()).AddRange(items); break; }
                case FrozenSet: Push(PopToMark()); break;
                case PickleOpcodes.Global: Push(PickleGlobal.Of(Line(), Line())); break;
                case StackGlobal: { string name = Text(Pop()), module = Text(Pop()); Push(PickleGlobal.Of(module, name)); break; }
                case Reduce: { object?[] arguments = TupleOf(Pop()); Push(Call(Pop(), arguments)); break; }
                case NewObj: { object?[] arguments = TupleOf(Pop()); Push(Call(Pop(), arguments)); break; }
                case PickleOpcodes.Build: Pop(); CheckBuildTarget(Peek()); break;
                case BinPersId: Push(Storage(Pop())); break;
                case BinPut: _memo[Byte()] = Peek(); break;
                case LongBinPut: _memo[Length32()] = Peek(); break;
                case Memoize: _memo[_memo.Count] = Peek(); break;
                case BinGet: Push(Memo(Byte())); break;
                case LongBinGet: Push(Memo(Length32())); break;
                default:
                    throw Invalid($"unsupported pickle opcode 0x{opcode:x2} at byte {opcodePosition}");
            }
        }
    }

    // The only callables a state dict needs; anything else is refused rather than guessed at.
    private object? Call(object? callable, object?[] arguments)
    {
        if (callable is not PickleGlobal global)
        {
            throw Invalid($"the pickle calls {Describe(callable)}, which is not a global");
        }

        switch (global.ToString())
        {
            case "collections.OrderedDict":
            case "builtins.dict":
                return DictFromPairs(global, arguments);
            case "torch._utils._rebuild_tensor_v2":
            case "torch._utils._rebuild_tensor":
                if (arguments.Length < 4 || arguments[0] is not StorageReference storage)
                {
                    throw Invalid($"{global} has unexpected arguments");
                }

                return new TensorReference(storage, Integer(arguments[1]), Integers(arguments[2]), Integers(arguments[3]));
            case "torch._utils._rebuild_parameter":
            case "torch._utils._rebuild_parameter_with_state":
                return arguments.Length > 0 && arguments[0] is TensorReference tensor ? tensor : throw Invalid($"{global} wraps no tensor");
            case "torch._tensor._rebuild_from_type_v2":
                return RebuildFromType(global, arguments);
            case "torch.device":
                // Only meaningful as an argument to something else; every tensor is loaded onto the CPU anyway.
                return arguments.Length > 0 && arguments[0] is string device ? device : throw Invalid($"{global} has unexpected arguments");
            default:
                throw Invalid($"unsupported object '{global}' in the file; this reader loads dictionaries of tensors");
        }
    }

    // torch.save routes a tensor through _rebuild_from_type_v2(func, type, args, state) when it has
    // Python attributes or is a Parameter. Those attributes carry no tensor data, so only the inner
    // rebuild matters; it must be a plain rebuild so that a crafted file cannot nest calls without end.
    private TensorReference RebuildFromType(PickleGlobal global, object?[] arguments)
    {
        if (arguments.Length < 3 || arguments[0] is not PickleGlobal inner || inner.Module != "torch._utils")
        {
            throw Invalid($"{global} has unexpected arguments");
        }

        if (arguments[1] is not PickleGlobal { Module: "torch" or "torch._tensor" or "torch.nn.parameter", Name: "Tensor" or "Parameter" } type)
        {
            throw Invalid($"unsupported tensor type {Describe(arguments[1])} in the file; this reader loads dictionaries of plain tensors");
        }

        return Call(inner, TupleOf(arguments[2])) as TensorReference ?? throw Invalid($"{global} of {type} builds no tensor");
    }

    // dict(pairs) and OrderedDict(pairs); torch.save writes OrderedDict() and fills it with SETITEMS.
    private PickleDict DictFromPairs(PickleGlobal global, object?[] arguments)
    {
        var dict = new PickleDict();
        if (arguments.Length == 0)
        {
            return dict;
        }

        if (arguments.Length > 1 || arguments[0] is not (List<object?> or object?[]))
        {
            throw Invalid($"{global} has unexpected arguments");
        }

        foreach (object? pair in TupleOf(arguments[0]))
        {
            object?[] keyValue = TupleOf(pair);
            if (keyValue.Length != 2)
            {
                throw Invalid($"{global} is given a pair of {keyValue.Length} items");
            }

            Store(dict, keyValue[0], keyValue[1]);
        }

        return dict;
    }

    // BUILD sets state on an object made by REDUCE. The state of an OrderedDict (its _metadata
    // with per-module versions) and of a tensor (Python attributes) carries no tensor data.
    private void CheckBuildTarget(object? target)
    {
        if (target is not (PickleDict or TensorReference))
        {
            throw Invalid($"the pickle sets state on {Describe(target)}, which a state dict never does");
        }
    }

    private StorageReference Storage(object? persistentId)
    {
        object?[] id = TupleOf(persistentId);
        if (id.Length != 5 || id[0] is not "storage")
        {
            throw Invalid("a persistent id is not a ('storage', type, key, location, numel) tuple");
        }

        if (id[1] is not PickleGlobal { Module: "torch" } storageType || !StorageTypes.TryParse(storageType.Name, out ScalarType type))
        {
            throw Invalid($"unsupported storage type {Describe(id[1])}");
        }

        string key = id[2] as string ?? throw Invalid("a storage key is not a string");
        if (id[3] is not string)
        {
            throw Invalid($"storage {key} has a location that is {Describe(id[3])}, not a string");
        }

        // The location (e.g. 'cuda:0') is ignored: the bytes are the same on every device, and this
        // reader loads onto the CPU, as torch.load(path, map_location='cpu') would.
        return new StorageReference(type, key, Integer(id[4]));
    }

    private void Store(PickleDict dict, object? key, object? value) =>
        dict.Set(key ?? throw Invalid("a dict has a None key, which a state dict never has"), value);

    private void AddPairs(PickleDict dict, List<object?> items)
    {
        if (items.Count % 2 != 0)
        {
            throw Invalid($"a dict is given {items.Count} items, not key-value pairs");
        }

        for (int i = 0; i < items.Count; i += 2)
        {
            Store(dict, items[i], items[i + 1]);
        }
    }

    private PickleDict DictFrom(List<object?> items)
    {
        var dict = new PickleDict();
        AddPairs(dict, items);
        return dict;
    }

    private long Integer(object? value) => value is long integer ? integer : throw Invalid($"expected an integer, found {Describe(value)}");

    private long[] Integers(object? value) => TupleOf(value).Select(Integer).ToArray();

    private object?[] TupleOf(object? value) => value switch
    {
        object?[] tuple => tuple,
        List<object?> list => list.ToArray(),
        _ => throw Invalid($"expected a tuple, found {Describe(value)}"),
    };

    private List<object?> ListAt(object? value) => value as List<object?> ?? throw Invalid($"expected a list, found {Describe(value)}");

    private PickleDict DictAt(object? value) => value as PickleDict ?? throw Invalid($"expected a dict, found {Describe(value)}");

    private string Text(object? value) => value as string ?? throw Invalid($"expected a string, found {Describe(value)}");

    private long LittleEndianInteger(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > 8)
        {
            throw Invalid($"an integer of {bytes.Length} bytes is too large");
        }

        long value = 0;
        for (int i = bytes.Length - 1; i >= 0; i--)
        {
            value = (value << 8) | bytes[i];
        }

        // Sign-extend from the top bit of the last byte, as pickle's two's complement integers are.
        int unusedBits = 64 - (8 * bytes.Length);
        return bytes.Length == 0 ? 0 : (value << unusedBits) >> unusedBits;
    }

    private object? Memo(long index) => _memo.TryGetValue(index, out object? value) ? value : throw Invalid($"memo entry {index} is missing");

    private void Push(object? value) => _stack.Add(value);

    private object? Peek() => _stack.Count > 0 && _stack[^1] != MarkObject ? _stack[^1] : throw Invalid("the pickle's stack is empty");

    private object? Pop()
    {
        object? value = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private object?[] PopItems(int count)
    {
        var items = new object?[count];
        for (int i = count - 1; i >= 0; i--)
        {
            items[i] = Pop();
        }

        return items;
    }

    private List<object?> PopToMark()
    {
        if (_marks.Count == 0)
        {
            throw Invalid("the pickle closes a mark it never opened");
        }

        int mark = _marks.Pop();
        List<object?> items = _stack.GetRange(mark + 1, _stack.Count - mark - 1);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private byte Byte() => Take(1)[0];

    private int Length32()
    {
        int length = BinaryPrimitives.ReadInt32LittleEndian(Take(4));
        return length >= 0 ? length : throw Invalid($"negative length {length}");
    }

    private int Length64()
    {
        long length = BinaryPrimitives.ReadInt64LittleEndian(Take(8));
        return length is >= 0 and <= int.MaxValue ? (int)length : throw Invalid($"length {length} is out of range");
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > _data.Length - _position)
        {
            throw Invalid($"the pickle is truncated at byte {_position} of {_data.Length}");
        }

        var span = new ReadOnlySpan<byte>(_data, _position, count);
        _position += count;
        return span;
    }

    private string Line()
    {
        int end = Array.IndexOf(_data, (byte)'\n', _position);
        if (end < 0)
        {
            throw Invalid($"the pickle is truncated at byte {_position} of {_data.Length}");
        }

        string line = Encoding.ASCII.GetString(_data, _position, end - _position);
        _position = end + 1;
        return line;
    }

    private InvalidDataException Invalid(string message) => new($"{_source}: {message}.");

    /// <summary>A Python-like name of a value's type, for error messages.</summary>
    public static string Describe(object? value) => value switch
    {
        null => "None",
        bool => "a bool",
        long => "an int",
        double => "a float",
        string => "a str",
        byte[] => "bytes",
        object?[] => "a tuple",
        List<object?> => "a list",
        PickleDict => "a dict",
        PickleGlobal global => $"'{global}'",
        TensorReference => "a tensor",
        StorageReference => "a storage",
        _ => value.GetType().Name,
    };
}
