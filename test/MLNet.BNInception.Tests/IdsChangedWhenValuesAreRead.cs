namespace MLNet.BNInception.Tests;

/// <summary>
/// Passes a data view through, but a cursor that reads any column gives each row the id
/// <paramref name="changed"/> makes of its own: to a reader that reads a pass's ids alone first and its
/// values after, the view's rows change between the two.
/// </summary>
internal sealed class IdsChangedWhenValuesAreRead(IDataView inner, Func<ulong, ulong> changed) : IDataView
{
    public DataViewSchema Schema => inner.Schema;

    public bool CanShuffle => inner.CanShuffle;

    public long? GetRowCount() => inner.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        DataViewSchema.Column[] columns = [.. columnsNeeded];
        return new Cursor(inner.GetRowCursor(columns, rand), columns.Length > 0 ? changed : id => id);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(DataViewRowCursor inner, Func<ulong, ulong> changed) : DataViewRowCursor
    {
        private readonly ValueGetter<DataViewRowId> _id = inner.GetIdGetter();

        public override DataViewSchema Schema => inner.Schema;

        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override bool MoveNext() => inner.MoveNext();

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => inner.GetGetter<TValue>(column);

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId value) =>
        {
            _id(ref value);
            value = new DataViewRowId(changed(value.Low), value.High);
        };

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
