namespace MLNet.BNInception.Data;

/// <summary>The rows of a source view for which a predicate of the source position (and row) holds, renumbered from 0.</summary>
/// <remarks><paramref name="onPassEnd"/>, when given, hears (rows kept, rows dropped) each time a cursor reaches the end.</remarks>
internal sealed class FilteredDataView(IDataView source, IReadOnlyList<string> predicateInputs, Func<DataViewRow, Func<bool>> createPredicate,
    Action<long, long>? onPassEnd = null) : IDataView
{
    public DataViewSchema Schema => source.Schema;

    public bool CanShuffle => false;

    public long? GetRowCount() => null;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.Select(column => column.Name).ToHashSet(StringComparer.Ordinal);
        DataViewRowCursor cursor = source.GetRowCursor(needed.Union(predicateInputs).Select(name => source.Schema[name]));
        return new Cursor(cursor, needed, createPredicate(cursor), onPassEnd);
    }

    private sealed class Cursor(DataViewRowCursor source, HashSet<string> active, Func<bool> keep, Action<long, long>? onPassEnd) : DataViewRowCursor
    {
        private long _position = -1;
        private long _dropped;
        private bool _ended;

        public override DataViewSchema Schema => source.Schema;

        public override long Position => _position;

        public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Name);

        public override bool MoveNext()
        {
            while (source.MoveNext())
            {
                if (keep())
                {
                    _position++;
                    return true;
                }

                _dropped++;
            }

            if (!_ended)
            {
                _ended = true;
                onPassEnd?.Invoke(_position + 1, _dropped);
            }

            return false;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            RowValues.CheckGetter<TValue>(this, column);
            return source.GetGetter<TValue>(column);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                source.Dispose();
            }
        }
    }
}
