namespace MLNet.BNInception.Tests;

/// <summary>
/// Passes a data view through, recording what is asked of it: the cursors opened (with or without a
/// random order), and the ids of the rows each cursor moved to.
/// </summary>
internal sealed class RecordingDataView(IDataView inner) : IDataView
{
    private long _rowsRead;

    public List<(bool Shuffled, List<ulong> Ids)> Cursors { get; } = [];

    /// <summary>Rows moved to by every cursor so far (read from several threads).</summary>
    public long RowsRead => Interlocked.Read(ref _rowsRead);

    public DataViewSchema Schema => inner.Schema;

    public bool CanShuffle => inner.CanShuffle;

    public long? GetRowCount() => inner.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var ids = new List<ulong>();
        lock (Cursors)
        {
            Cursors.Add((rand is not null, ids));
        }

        return new Cursor(inner.GetRowCursor(columnsNeeded, rand), ids, this);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(DataViewRowCursor inner, List<ulong> ids, RecordingDataView owner) : DataViewRowCursor
    {
        private readonly ValueGetter<DataViewRowId> _id = inner.GetIdGetter();

        public override DataViewSchema Schema => inner.Schema;

        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override bool MoveNext()
        {
            if (!inner.MoveNext())
            {
                return false;
            }

            DataViewRowId id = default;
            _id(ref id);
            ids.Add(id.Low);
            Interlocked.Increment(ref owner._rowsRead);
            return true;
        }

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => inner.GetGetter<TValue>(column);

        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
