namespace MLNet.BNInception.Data;

/// <summary>A view over objects in memory (or produced lazily); each cursor enumerates the source again.</summary>
internal sealed class EnumerableDataView<TRow>(IEnumerable<TRow> rows) : IDataView
    where TRow : class
{
    private readonly RowClassMapping _mapping = RowClassMapping.For(typeof(TRow));

    public DataViewSchema Schema => field ??= new DataViewSchema(_mapping.Members.Select(member => (member.Name, member.Type, (IReadOnlyList<string>?)null)));

    public bool CanShuffle => false;

    public long? GetRowCount() => rows is ICollection<TRow> collection ? collection.Count : null;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded.Select(column => column.Name).ToHashSet(StringComparer.Ordinal));

    private sealed class Cursor(EnumerableDataView<TRow> view, HashSet<string> active) : DataViewRowCursor
    {
        private readonly IEnumerator<TRow> _rows = view.Rows.GetEnumerator();
        private long _position = -1;
        private TRow? _current;

        public override DataViewSchema Schema => view.Schema;

        public override long Position => _position;

        public override bool IsColumnActive(DataViewSchema.Column column) => active.Contains(column.Name);

        public override bool MoveNext()
        {
            if (!_rows.MoveNext())
            {
                _current = null;
                return false;
            }

            _current = _rows.Current ?? throw new InvalidDataException($"row {_position + 1} of the enumerable is null");
            _position++;
            return true;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            RowValues.CheckGetter<TValue>(this, column);
            RowClassMapping.Member member = view._mapping.Members.Single(candidate => candidate.Name == column.Name);
            return (ValueGetter<TValue>)RowClassMapping.ColumnGetter(member,
                () => _current ?? throw new InvalidOperationException("the cursor is not on a row"), () => _position);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _rows.Dispose();
            }
        }
    }

    private IEnumerable<TRow> Rows => rows;
}
