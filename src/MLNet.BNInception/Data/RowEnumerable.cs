namespace MLNet.BNInception.Data;

/// <summary>Reads a view into row objects (ML.NET's <c>CreateEnumerable</c>), lazily.</summary>
internal static class RowEnumerable
{
    public static IEnumerable<TRow> Create<TRow>(IDataView data, bool reuseRowObject, bool ignoreMissingColumns)
        where TRow : class, new()
    {
        RowClassMapping mapping = RowClassMapping.For(typeof(TRow));
        var bound = new List<(RowClassMapping.Member Member, DataViewSchema.Column Column)>();
        foreach (RowClassMapping.Member member in mapping.Members)
        {
            DataViewSchema.Column? column = data.Schema.GetColumnOrNull(member.Name);
            if (column is null)
            {
                if (ignoreMissingColumns)
                {
                    continue;
                }

                throw new ArgumentOutOfRangeException(nameof(data),
                    $"{typeof(TRow).Name}.{member.Info.Name} reads column '{member.Name}', which the data does not have; its columns are {data.Schema.Describe()}");
            }

            if (!RowClassMapping.CanReceive(member.ClrType, column.Type))
            {
                throw new InvalidOperationException(
                    $"{typeof(TRow).Name}.{member.Info.Name} is {member.ClrType.Name} but column '{column.Name}' holds {column.Type}");
            }

            bound.Add((member, column));
        }

        return Enumerate<TRow>(data, bound, reuseRowObject);
    }

    private static IEnumerable<TRow> Enumerate<TRow>(IDataView data, List<(RowClassMapping.Member Member, DataViewSchema.Column Column)> bound, bool reuseRowObject)
        where TRow : class, new()
    {
        using DataViewRowCursor cursor = data.GetRowCursor(bound.Select(pair => pair.Column));
        Action<object>[] setters = [.. bound.Select(pair => RowClassMapping.MemberSetter(pair.Member, cursor, pair.Column))];
        TRow? reused = null;
        while (cursor.MoveNext())
        {
            TRow row = reuseRowObject ? reused ??= new TRow() : new TRow();
            foreach (Action<object> setter in setters)
            {
                setter(row);
            }

            yield return row;
        }
    }
}
