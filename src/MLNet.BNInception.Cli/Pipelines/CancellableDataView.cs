using Microsoft.ML.Data;
using Microsoft.ML;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>
/// A view whose cursors throw <see cref="OperationCanceledException"/> at their next row once the
/// token is cancelled: ML.NET's evaluator and transforms take no token, and a view under them stops
/// them, within a row, so that a command stopped by Ctrl-C still runs its cleanup.
/// </summary>
internal sealed class CancellableDataView(IDataView input, CancellationToken cancellation) : IDataView
{
    /// <summary>Told the number of rows read so far by each cursor opened from now on, after each of its rows: for progress.</summary>
    public Action<long>? RowsRead { get; set; }

    public bool CanShuffle => input.CanShuffle;

    public DataViewSchema Schema => input.Schema;

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(input.GetRowCursor(columnsNeeded, rand), cancellation, RowsRead);

    // One cursor: the caller may ask for several and must accept fewer.
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(DataViewRowCursor source, CancellationToken cancellation, Action<long>? rowsRead) : DataViewRowCursor
    {
        private long _rows;

        public override DataViewSchema Schema => source.Schema;

        public override long Position => source.Position;

        public override long Batch => source.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => source.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => source.IsColumnActive(column);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => source.GetGetter<TValue>(column);

        public override bool MoveNext()
        {
            cancellation.ThrowIfCancellationRequested();
            if (!source.MoveNext())
            {
                return false;
            }

            rowsRead?.Invoke(++_rows);
            return true;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                source.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
