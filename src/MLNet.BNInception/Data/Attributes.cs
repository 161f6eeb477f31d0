namespace MLNet.BNInception.Data;

/// <summary>The source column(s) of a member when loading text: one index, or an inclusive range for a vector.</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
public sealed class LoadColumnAttribute : Attribute
{
    /// <summary>Loads text column <paramref name="columnIndex"/> (from 0).</summary>
    public LoadColumnAttribute(int columnIndex)
        : this(columnIndex, columnIndex)
    {
    }

    /// <summary>Loads text columns <paramref name="start"/> to <paramref name="end"/> inclusive as a vector.</summary>
    public LoadColumnAttribute(int start, int end)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfLessThan(end, start);
        Start = start;
        End = end;
    }

    /// <summary>First text column.</summary>
    public int Start { get; }

    /// <summary>Last text column.</summary>
    public int End { get; }
}

/// <summary>The data-view column name of a member, when it differs from the member's name.</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
public sealed class ColumnNameAttribute(string name) : Attribute
{
    /// <summary>The column name.</summary>
    public string Name { get; } = name;
}

/// <summary>The member is not a column.</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
public sealed class NoColumnAttribute : Attribute;

/// <summary>The fixed size (or shape) of an array member's vector column.</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
public sealed class VectorTypeAttribute(params int[] dimensions) : Attribute
{
    /// <summary>The shape, outermost first.</summary>
    public IReadOnlyList<int> Dimensions { get; } = dimensions;
}

/// <summary>A <see cref="uint"/> member holds a key over <see cref="Count"/> categories (0 = missing).</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
public sealed class KeyTypeAttribute(ulong count) : Attribute
{
    /// <summary>The number of categories.</summary>
    public ulong Count { get; } = count;
}

/// <summary>The size of an <see cref="MLImage"/> member's images.</summary>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property)]
public sealed class ImageTypeAttribute(int height, int width) : Attribute
{
    /// <summary>Height in pixels.</summary>
    public int Height { get; } = height;

    /// <summary>Width in pixels.</summary>
    public int Width { get; } = width;
}
