namespace MLNet.BNInception.Data;

/// <summary>
/// A vector value, as ML.NET's <c>VBuffer&lt;T&gt;</c> but always dense: this project's vectors are
/// pixels and scores, which are never sparse. Getters hand out a new buffer per row, so a value
/// stays valid after the cursor moves on.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
public readonly struct VBuffer<T>
{
    private readonly T[]? _values;

    /// <summary>Wraps <paramref name="values"/> (not copied) as a vector of <paramref name="length"/> items.</summary>
    public VBuffer(int length, T[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (values.Length < length)
        {
            throw new ArgumentException($"{values.Length} values cannot hold a vector of {length}", nameof(values));
        }

        Length = length;
        _values = values;
    }

    /// <summary>Wraps <paramref name="values"/> (not copied).</summary>
    public VBuffer(T[] values)
        : this(values?.Length ?? throw new ArgumentNullException(nameof(values)), values)
    {
    }

    /// <summary>The number of items.</summary>
    public int Length { get; }

    /// <summary>Always true: every item is stored.</summary>
    public bool IsDense => true;

    /// <summary>The items.</summary>
    public ReadOnlySpan<T> GetValues() => _values is null ? [] : _values.AsSpan(0, Length);

    /// <summary>The items, for LINQ.</summary>
    public IEnumerable<T> DenseValues() => _values is null ? [] : _values.Take(Length);

    /// <summary>Item <paramref name="index"/>.</summary>
    public T GetItemOrDefault(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Length);
        return _values![index];
    }

    /// <summary>The stored array when it holds exactly the items (no copy), else a copy; callers must not write to it.</summary>
    internal T[] SharedArrayOrCopy() => _values is not null && _values.Length == Length ? _values : ToArray();

    /// <summary>Copies the items into a new array.</summary>
    public T[] ToArray() => GetValues().ToArray();
}
