namespace MLNet.BNInception.Data;

/// <summary>
/// The type of a data-view column, as in ML.NET: the .NET type its getters produce
/// (<see cref="RawType"/>) plus what that type cannot say (key ranges, vector sizes).
/// </summary>
public abstract class DataViewType : IEquatable<DataViewType>
{
    private protected DataViewType(Type rawType) => RawType = rawType;

    /// <summary>The type of the values a column getter produces.</summary>
    public Type RawType { get; }

    /// <inheritdoc/>
    public abstract bool Equals(DataViewType? other);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is DataViewType other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => RawType.GetHashCode();
}

/// <summary>A scalar type whose values can also be the items of a <see cref="VectorDataViewType"/>.</summary>
public abstract class PrimitiveDataViewType : DataViewType
{
    private protected PrimitiveDataViewType(Type rawType)
        : base(rawType)
    {
    }

    /// <inheritdoc/>
    public override bool Equals(DataViewType? other) => other is not null && other.GetType() == GetType() && other.RawType == RawType;
}

/// <summary>Numeric column types.</summary>
public sealed class NumberDataViewType : PrimitiveDataViewType
{
    private readonly string _name;

    private NumberDataViewType(Type rawType, string name)
        : base(rawType) => _name = name;

    /// <summary>8-bit unsigned integers.</summary>
    public static NumberDataViewType Byte { get; } = new(typeof(byte), "Byte");

    /// <summary>32-bit signed integers.</summary>
    public static NumberDataViewType Int32 { get; } = new(typeof(int), "Int32");

    /// <summary>32-bit unsigned integers.</summary>
    public static NumberDataViewType UInt32 { get; } = new(typeof(uint), "UInt32");

    /// <summary>64-bit signed integers.</summary>
    public static NumberDataViewType Int64 { get; } = new(typeof(long), "Int64");

    /// <summary>32-bit floating point.</summary>
    public static NumberDataViewType Single { get; } = new(typeof(float), "Single");

    /// <summary>64-bit floating point.</summary>
    public static NumberDataViewType Double { get; } = new(typeof(double), "Double");

    /// <inheritdoc/>
    public override string ToString() => _name;
}

/// <summary>Booleans.</summary>
public sealed class BooleanDataViewType : PrimitiveDataViewType
{
    private BooleanDataViewType()
        : base(typeof(bool))
    {
    }

    /// <summary>The one instance.</summary>
    public static BooleanDataViewType Instance { get; } = new();

    /// <inheritdoc/>
    public override string ToString() => "Boolean";
}

/// <summary>Text, read as <see cref="ReadOnlyMemory{T}"/> of char as in ML.NET.</summary>
public sealed class TextDataViewType : PrimitiveDataViewType
{
    private TextDataViewType()
        : base(typeof(ReadOnlyMemory<char>))
    {
    }

    /// <summary>The one instance.</summary>
    public static TextDataViewType Instance { get; } = new();

    /// <inheritdoc/>
    public override string ToString() => "String";
}

/// <summary>
/// A key: a category index stored as <see cref="uint"/>, where 0 means missing and 1 to
/// <see cref="Count"/> are the categories (ML.NET's convention). A key column usually carries its
/// values as the <see cref="DataViewSchema.Column.KeyValues"/> annotation.
/// </summary>
public sealed class KeyDataViewType : PrimitiveDataViewType
{
    /// <summary>Creates a key type over <paramref name="count"/> categories.</summary>
    public KeyDataViewType(Type type, ulong count)
        : base(type)
    {
        if (type != typeof(uint))
        {
            throw new ArgumentException($"keys are stored as UInt32 here, not {type.Name}", nameof(type));
        }

        ArgumentOutOfRangeException.ThrowIfZero(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, uint.MaxValue);
        Count = count;
    }

    /// <summary>The number of categories.</summary>
    public ulong Count { get; }

    /// <inheritdoc/>
    public override bool Equals(DataViewType? other) => other is KeyDataViewType key && key.Count == Count;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(RawType, Count);

    /// <inheritdoc/>
    public override string ToString() => $"Key<UInt32, 0-{Count - 1}>";
}

/// <summary>A fixed-size vector of primitive items, read as <see cref="VBuffer{T}"/>.</summary>
public sealed class VectorDataViewType : DataViewType
{
    /// <summary>Creates a vector type; no dimensions, or a 0 dimension, means the size varies by row.</summary>
    public VectorDataViewType(PrimitiveDataViewType itemType, params int[] dimensions)
        : base(typeof(VBuffer<>).MakeGenericType(itemType?.RawType ?? throw new ArgumentNullException(nameof(itemType))))
    {
        ArgumentNullException.ThrowIfNull(dimensions);
        foreach (int dimension in dimensions)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(dimension, nameof(dimensions));
        }

        ItemType = itemType;
        Dimensions = [.. dimensions];
        Size = dimensions.Length == 0 || dimensions.Contains(0) ? 0 : dimensions.Aggregate(1, (a, b) => checked(a * b));
    }

    /// <summary>The type of the items.</summary>
    public PrimitiveDataViewType ItemType { get; }

    /// <summary>The shape, outermost first, e.g. channels × height × width for planar pixels.</summary>
    public IReadOnlyList<int> Dimensions { get; }

    /// <summary>The number of items, or 0 when it varies by row.</summary>
    public int Size { get; }

    /// <summary>True when every row has <see cref="Size"/> items.</summary>
    public bool IsKnownSize => Size > 0;

    /// <inheritdoc/>
    public override bool Equals(DataViewType? other) =>
        other is VectorDataViewType vector && vector.ItemType.Equals(ItemType) && vector.Dimensions.SequenceEqual(Dimensions);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(ItemType, Size);

    /// <inheritdoc/>
    public override string ToString() => $"Vector<{ItemType}{(Dimensions.Count == 0 ? "" : ", " + string.Join(", ", Dimensions))}>";
}

/// <summary>An image column; values are <see cref="MLImage"/>. Width and height are 0 when they vary by row.</summary>
public sealed class ImageDataViewType : DataViewType
{
    /// <summary>Creates an image type of a known size, or of varying size when both are 0.</summary>
    public ImageDataViewType(int height = 0, int width = 0)
        : base(typeof(MLImage))
    {
        ArgumentOutOfRangeException.ThrowIfNegative(height);
        ArgumentOutOfRangeException.ThrowIfNegative(width);
        Height = height;
        Width = width;
    }

    /// <summary>Height in pixels, or 0 when it varies.</summary>
    public int Height { get; }

    /// <summary>Width in pixels, or 0 when it varies.</summary>
    public int Width { get; }

    /// <inheritdoc/>
    public override bool Equals(DataViewType? other) => other is ImageDataViewType image && image.Height == Height && image.Width == Width;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Height, Width);

    /// <inheritdoc/>
    public override string ToString() => Height == 0 ? "Image" : $"Image<{Width}x{Height}>";
}
