using System.Reflection;

namespace MLNet.BNInception.Data;

/// <summary>Type-erased access to column values, for code that handles every column alike (preview, cache, row classes).</summary>
internal static class RowValues
{
    private static readonly MethodInfo BoxedGetterMethod = typeof(RowValues).GetMethod(nameof(BoxedGetterOf), BindingFlags.NonPublic | BindingFlags.Static)!;

    /// <summary>Fails clearly when a getter of the wrong type or of an inactive column is asked for.</summary>
    public static void CheckGetter<TValue>(DataViewRow row, DataViewSchema.Column column)
    {
        if (row.Schema.GetColumnOrNull(column.Name) is not { } own || own.Index != column.Index)
        {
            throw new ArgumentOutOfRangeException(nameof(column), $"column '{column.Name}' is not in this row's schema");
        }

        if (!row.IsColumnActive(column))
        {
            throw new InvalidOperationException($"column '{column.Name}' was not requested when the cursor was created");
        }

        if (typeof(TValue) != column.Type.RawType)
        {
            throw new InvalidOperationException(
                $"column '{column.Name}' holds {column.Type} values, read as {column.Type.RawType.Name}, not {typeof(TValue).Name}");
        }
    }

    /// <summary>A getter returning the current value of <paramref name="column"/> boxed.</summary>
    public static Func<object?> BoxedGetter(DataViewRow row, DataViewSchema.Column column) =>
        (Func<object?>)BoxedGetterMethod.MakeGenericMethod(column.Type.RawType).Invoke(null, [row, column])!;

    private static Func<object?> BoxedGetterOf<TValue>(DataViewRow row, DataViewSchema.Column column)
    {
        ValueGetter<TValue> getter = row.GetGetter<TValue>(column);
        return () =>
        {
            TValue value = default!;
            getter(ref value);
            return value;
        };
    }

    /// <summary>A readable rendering of a value for previews and error messages.</summary>
    public static string Format(object? value, int maxItems = 10) => value switch
    {
        null => "",
        ReadOnlyMemory<char> text => text.ToString(),
        VBuffer<float> vector => FormatVector(vector.GetValues().ToArray(), maxItems),
        VBuffer<double> vector => FormatVector(vector.GetValues().ToArray(), maxItems),
        VBuffer<byte> vector => FormatVector(vector.GetValues().ToArray(), maxItems),
        VBuffer<ReadOnlyMemory<char>> vector => FormatVector(vector.GetValues().ToArray().Select(item => item.ToString()).ToArray(), maxItems),
        float number => number.ToString("G7", System.Globalization.CultureInfo.InvariantCulture),
        double number => number.ToString("G7", System.Globalization.CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static string FormatVector<T>(T[] items, int maxItems) =>
        "[" + string.Join(", ", items.Take(maxItems).Select(item => Format(item))) + (items.Length > maxItems ? $", … ({items.Length} items)]" : "]");
}
