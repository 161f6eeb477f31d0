using System.Text;

namespace MLNet.BNInception.Data;

/// <summary>The first rows of a view, read for inspection (ML.NET's <c>Preview()</c>).</summary>
public sealed class DataDebuggerPreview
{
    internal DataDebuggerPreview(IDataView data, int maxRows)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegative(maxRows);
        Schema = data.Schema;
        var rows = new List<RowInfo>();
        using (DataViewRowCursor cursor = data.GetRowCursor(Schema))
        {
            Func<object?>[] getters = [.. Schema.Select(column => RowValues.BoxedGetter(cursor, column))];
            while (rows.Count < maxRows && cursor.MoveNext())
            {
                rows.Add(new RowInfo([.. Schema.Select((column, i) => new KeyValuePair<string, object?>(column.Name, getters[i]()))]));
            }
        }

        RowView = rows;
        ColumnView = [.. Schema.Select(column => new ColumnInfo(column, [.. rows.Select(row => row.Values[column.Index].Value)]))];
    }

    /// <summary>The view's columns.</summary>
    public DataViewSchema Schema { get; }

    /// <summary>The values by column.</summary>
    public IReadOnlyList<ColumnInfo> ColumnView { get; }

    /// <summary>The values by row.</summary>
    public IReadOnlyList<RowInfo> RowView { get; }

    /// <summary>A text table of the rows, long vectors shortened.</summary>
    public override string ToString()
    {
        string[] headers = [.. Schema.Select(column => $"{column.Name} ({column.Type})")];
        string[][] cells = [.. RowView.Select(row => row.Values.Select(pair => RowValues.Format(pair.Value, maxItems: 4)).ToArray())];
        int[] widths = [.. headers.Select((header, i) => Math.Min(60, cells.Select(row => row[i].Length).Append(header.Length).Max()))];
        var text = new StringBuilder();
        void Line(IEnumerable<string> values) =>
            text.AppendLine(string.Join(" | ", values.Select((value, i) => (value.Length > widths[i] ? value[..(widths[i] - 1)] + "…" : value).PadRight(widths[i]))).TrimEnd());
        Line(headers);
        text.AppendLine(string.Join("-+-", widths.Select(width => new string('-', width))));
        foreach (string[] row in cells)
        {
            Line(row);
        }

        return text.ToString();
    }

    /// <summary>One column's values.</summary>
    /// <param name="Column">The column.</param>
    /// <param name="Values">Its values, row by row.</param>
    public sealed record ColumnInfo(DataViewSchema.Column Column, IReadOnlyList<object?> Values);

    /// <summary>One row's values by column name.</summary>
    /// <param name="Values">Name and value of each column.</param>
    public sealed record RowInfo(IReadOnlyList<KeyValuePair<string, object?>> Values);
}

/// <summary>Inspection helpers on views.</summary>
public static class DataViewExtensions
{
    /// <summary>Reads the first <paramref name="maxRows"/> rows for inspection.</summary>
    public static DataDebuggerPreview Preview(this IDataView data, int maxRows = 100) => new(data, maxRows);

    /// <summary>A cursor over every column.</summary>
    public static DataViewRowCursor GetRowCursorForAllColumns(this IDataView data)
    {
        ArgumentNullException.ThrowIfNull(data);
        return data.GetRowCursor(data.Schema);
    }

    /// <summary>Reads one column into a list (for plots and notebooks).</summary>
    public static IEnumerable<TValue> GetColumn<TValue>(this IDataView data, string columnName)
    {
        ArgumentNullException.ThrowIfNull(data);
        DataViewSchema.Column column = data.Schema[columnName];
        return Read(data, column);

        static IEnumerable<TValue> Read(IDataView data, DataViewSchema.Column column)
        {
            using DataViewRowCursor cursor = data.GetRowCursor([column]);
            ValueGetter<TValue> getter = cursor.GetGetter<TValue>(column);
            while (cursor.MoveNext())
            {
                TValue value = default!;
                getter(ref value);
                yield return value;
            }
        }
    }
}
