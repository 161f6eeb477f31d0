using System.Collections.Concurrent;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Passes a data view through, recording each value its cursors' getters fetched, by column and row
/// id: in an image pipeline, a fetch of the pixels is a decode. Moving to a row and reading its id
/// fetch nothing.
/// </summary>
internal sealed class FetchCountingDataView(IDataView inner) : IDataView
{
    private readonly ConcurrentQueue<(string Column, ulong Row)> _fetches = new();

    public DataViewSchema Schema => inner.Schema;

    public bool CanShuffle => inner.CanShuffle;

    /// <summary>The row ids whose <paramref name="column"/> was fetched since the last <see cref="Forget"/>, once per fetch.</summary>
    public List<ulong> Fetched(string column) => [.. _fetches.Where(fetch => fetch.Column == column).Select(fetch => fetch.Row)];

    /// <summary>Forgets the fetches so far.</summary>
    public void Forget() => _fetches.Clear();

    public long? GetRowCount() => inner.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(inner.GetRowCursor(columnsNeeded, rand), _fetches);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(DataViewRowCursor inner, ConcurrentQueue<(string Column, ulong Row)> fetches) : DataViewRowCursor
    {
        private readonly ValueGetter<DataViewRowId> _id = inner.GetIdGetter();

        public override DataViewSchema Schema => inner.Schema;

        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override bool MoveNext() => inner.MoveNext();

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            ValueGetter<TValue> getter = inner.GetGetter<TValue>(column);
            return (ref TValue value) =>
            {
                DataViewRowId id = default;
                _id(ref id);
                fetches.Enqueue((column.Name, id.Low));
                getter(ref value);
            };
        }

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
