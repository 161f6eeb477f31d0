using System.Reflection;

namespace MLNet.BNInception.Data;

/// <summary>
/// How the public fields and settable properties of a row class map to columns, both ways:
/// string ↔ text, numbers and bool ↔ themselves, <c>uint</c> with [KeyType] ↔ key, arrays ↔ vectors,
/// <see cref="MLImage"/> ↔ image.
/// </summary>
internal sealed class RowClassMapping
{
    private static readonly MethodInfo ToColumnMethod = typeof(RowClassMapping).GetMethod(nameof(ToColumnValue), BindingFlags.NonPublic | BindingFlags.Static)!;
    private static readonly MethodInfo FromColumnMethod = typeof(RowClassMapping).GetMethod(nameof(FromColumnValue), BindingFlags.NonPublic | BindingFlags.Static)!;

    private RowClassMapping(Type rowType, IReadOnlyList<Member> members)
    {
        RowType = rowType;
        Members = members;
    }

    public Type RowType { get; }

    public IReadOnlyList<Member> Members { get; }

    public static RowClassMapping For(Type rowType)
    {
        var members = new List<Member>();
        const BindingFlags Public = BindingFlags.Public | BindingFlags.Instance;
        IEnumerable<MemberInfo> candidates = rowType.GetFields(Public).Where(field => !field.IsInitOnly).Cast<MemberInfo>()
            .Concat(rowType.GetProperties(Public).Where(property => property.CanRead && property.CanWrite && property.GetIndexParameters().Length == 0))
            .OrderBy(member => member.MetadataToken);
        foreach (MemberInfo member in candidates)
        {
            if (member.GetCustomAttribute<NoColumnAttribute>() is not null)
            {
                continue;
            }

            Type memberType = member is FieldInfo field ? field.FieldType : ((PropertyInfo)member).PropertyType;
            string name = member.GetCustomAttribute<ColumnNameAttribute>()?.Name ?? member.Name;
            DataViewType type = ColumnTypeOf(rowType, member, memberType);
            members.Add(new Member(name, member, memberType, type, member.GetCustomAttribute<LoadColumnAttribute>()));
        }

        if (members.Count == 0)
        {
            throw new ArgumentException($"{rowType.Name} has no public fields or settable properties to map to columns");
        }

        return new RowClassMapping(rowType, members);
    }

    private static DataViewType ColumnTypeOf(Type rowType, MemberInfo member, Type memberType)
    {
        string where = $"{rowType.Name}.{member.Name}";
        if (member.GetCustomAttribute<KeyTypeAttribute>() is { } key)
        {
            return memberType == typeof(uint) ? new KeyDataViewType(typeof(uint), key.Count)
                : throw new ArgumentException($"{where}: [KeyType] needs a uint member, not {memberType.Name}");
        }

        if (memberType == typeof(MLImage))
        {
            ImageTypeAttribute? image = member.GetCustomAttribute<ImageTypeAttribute>();
            return new ImageDataViewType(image?.Height ?? 0, image?.Width ?? 0);
        }

        if (memberType.IsArray && memberType.GetArrayRank() == 1)
        {
            PrimitiveDataViewType item = PrimitiveOf(memberType.GetElementType()!) ??
                throw new ArgumentException($"{where}: arrays of {memberType.GetElementType()!.Name} cannot be a column");
            int[] dimensions = [.. member.GetCustomAttribute<VectorTypeAttribute>()?.Dimensions ?? []];
            if (dimensions.Length == 0 && member.GetCustomAttribute<LoadColumnAttribute>() is { } load && load.End > load.Start)
            {
                dimensions = [load.End - load.Start + 1];
            }

            return new VectorDataViewType(item, dimensions);
        }

        return PrimitiveOf(memberType) ?? throw new ArgumentException($"{where}: {memberType.Name} cannot be a column");
    }

    internal static PrimitiveDataViewType? PrimitiveOf(Type type) =>
        type == typeof(string) ? TextDataViewType.Instance
        : type == typeof(float) ? NumberDataViewType.Single
        : type == typeof(double) ? NumberDataViewType.Double
        : type == typeof(int) ? NumberDataViewType.Int32
        : type == typeof(long) ? NumberDataViewType.Int64
        : type == typeof(uint) ? NumberDataViewType.UInt32
        : type == typeof(byte) ? NumberDataViewType.Byte
        : type == typeof(bool) ? BooleanDataViewType.Instance
        : null;

    /// <summary>A getter of the member's column value over the current row object (at <paramref name="position"/>, for messages).</summary>
    public static Delegate ColumnGetter(Member member, Func<object> currentRow, Func<long> position) =>
        (Delegate)ToColumnMethod.MakeGenericMethod(member.Type.RawType).Invoke(null, [member, currentRow, position])!;

    /// <summary>An action copying the column's current value into the member of a row object.</summary>
    public static Action<object> MemberSetter(Member member, DataViewRow row, DataViewSchema.Column column) =>
        (Action<object>)FromColumnMethod.MakeGenericMethod(column.Type.RawType).Invoke(null, [member, row, column])!;

    private static ValueGetter<TValue> ToColumnValue<TValue>(Member member, Func<object> currentRow, Func<long> position)
    {
        int size = member.Type is VectorDataViewType { IsKnownSize: true } vector ? vector.Size : 0;
        return (ref TValue value) =>
        {
            object? item = member.GetValue(currentRow());
            // Unboxing null into a struct column value would be a bare NullReferenceException: a null
            // string is empty text, as in ML.NET, and a vector needs an array of the column's size.
            if (item is null && member.Type == TextDataViewType.Instance)
            {
                item = "";
            }
            else if (member.Type is VectorDataViewType && (item is not Array array || (size > 0 && array.Length != size)))
            {
                string found = item is Array items ? $"{items.Length} items" : "null";
                throw new InvalidDataException($"row {position()}, column '{member.Name}': {found}, but the column holds vectors of {(size > 0 ? $"{size} items" : "any size")}");
            }

            value = (TValue)ToColumn(item)!;
        };
    }

    private static Action<object> FromColumnValue<TValue>(Member member, DataViewRow row, DataViewSchema.Column column)
    {
        ValueGetter<TValue> getter = row.GetGetter<TValue>(column);
        return target =>
        {
            TValue value = default!;
            getter(ref value);
            member.SetValue(target, FromColumn(value, member.ClrType));
        };
    }

    private static object? ToColumn(object? value) => value switch
    {
        string text => text.AsMemory(),
        string[] texts => new VBuffer<ReadOnlyMemory<char>>([.. texts.Select(text => (text ?? "").AsMemory())]),
        float[] items => new VBuffer<float>((float[])items.Clone()),
        double[] items => new VBuffer<double>((double[])items.Clone()),
        int[] items => new VBuffer<int>((int[])items.Clone()),
        long[] items => new VBuffer<long>((long[])items.Clone()),
        uint[] items => new VBuffer<uint>((uint[])items.Clone()),
        byte[] items => new VBuffer<byte>((byte[])items.Clone()),
        bool[] items => new VBuffer<bool>((bool[])items.Clone()),
        null => null,
        _ => value,
    };

    private static object? FromColumn(object? value, Type memberType) => value switch
    {
        ReadOnlyMemory<char> text when memberType == typeof(string) => text.ToString(),
        VBuffer<ReadOnlyMemory<char>> texts when memberType == typeof(string[]) => texts.GetValues().ToArray().Select(text => text.ToString()).ToArray(),
        VBuffer<float> items => items.ToArray(),
        VBuffer<double> items => items.ToArray(),
        VBuffer<int> items => items.ToArray(),
        VBuffer<long> items => items.ToArray(),
        VBuffer<uint> items => items.ToArray(),
        VBuffer<byte> items => items.ToArray(),
        VBuffer<bool> items => items.ToArray(),
        _ => value,
    };

    /// <summary>True when a member of <paramref name="memberType"/> can receive values of <paramref name="columnType"/>.</summary>
    public static bool CanReceive(Type memberType, DataViewType columnType) => columnType switch
    {
        KeyDataViewType => memberType == typeof(uint),
        VectorDataViewType vector => memberType.IsArray && PrimitiveOf(memberType.GetElementType()!)?.Equals(vector.ItemType) == true,
        ImageDataViewType => memberType == typeof(MLImage),
        PrimitiveDataViewType primitive => PrimitiveOf(memberType)?.Equals(primitive) == true,
        _ => false,
    };

    /// <summary>One mapped member.</summary>
    internal sealed record Member(string Name, MemberInfo Info, Type ClrType, DataViewType Type, LoadColumnAttribute? Load)
    {
        public object? GetValue(object row) => Info is FieldInfo field ? field.GetValue(row) : ((PropertyInfo)Info).GetValue(row);

        public void SetValue(object row, object? value)
        {
            if (Info is FieldInfo field)
            {
                field.SetValue(row, value);
            }
            else
            {
                ((PropertyInfo)Info).SetValue(row, value);
            }
        }
    }
}
