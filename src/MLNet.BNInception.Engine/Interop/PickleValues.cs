using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Interop;

/// <summary>A reference to a Python global (<c>module.name</c>) met in a pickle.</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    // Protocol 2 pickles may name Python 2's module for builtins, which Python's unpickler maps back.
    public static PickleGlobal Of(string module, string name) => new(module == "__builtin__" ? "builtins" : module, name);

    public override string ToString() => $"{Module}.{Name}";
}

/// <summary>A Python dict or OrderedDict, its insertion order kept.</summary>
internal sealed class PickleDict
{
    private readonly List<KeyValuePair<object, object?>> _items = [];
    private readonly Dictionary<object, int> _positions = [];

    public IReadOnlyList<KeyValuePair<object, object?>> Items => _items;

    public void Set(object key, object? value)
    {
        if (_positions.TryGetValue(key, out int position))
        {
            _items[position] = new(key, value);
        }
        else
        {
            _positions[key] = _items.Count;
            _items.Add(new(key, value));
        }
    }
}

/// <summary>A tensor storage stored in record <c>data/{Key}</c>, holding <see cref="ElementCount"/> elements.</summary>
internal sealed record StorageReference(ScalarType Type, string Key, long ElementCount);

/// <summary>A tensor as <c>_rebuild_tensor_v2</c> describes it: a strided view of a storage.</summary>
internal sealed record TensorReference(StorageReference Storage, long Offset, long[] Size, long[] Stride);
