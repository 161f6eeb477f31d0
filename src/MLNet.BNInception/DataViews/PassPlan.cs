using System.Collections;
using Microsoft.ML.Data;
using Microsoft.ML;
using MLNet.BNInception.Engine.Distributed;

namespace MLNet.BNInception.DataViews;

/// <summary>
/// The rows of one pass, and which of them the pass fetches values for, known before any value is
/// fetched: from a pass over the view's row ids alone, through the cursor the view gives with no column
/// active, with the same <see cref="Random"/> (same seed) as the fetching pass, or through ML.NET's shuffle
/// pool over a view that cannot be read in any order, whose order the pool's seed and size and the view's
/// rows decide, with or without columns (<see cref="PoolOrderedRows"/>). No column's value is worked
/// out for it; a filter in the view still decides its rows (LoadImagesSafely under Skip decodes the rows
/// no earlier pass has decided, which the trainer's count of the rows has). The fetching pass then leaves out the rows a
/// resume skips, another rank's rows, the rows a <see cref="RowSplit"/> holds out, and those of a dropped
/// short last batch.
/// </summary>
internal sealed class PassPlan
{
    private readonly DataViewRowId[] _rows;
    private readonly PassLayout _layout;
    private readonly RowIdSet _fetched;

    private PassPlan(DataViewRowId[] rows, PassLayout layout, long rowsKept, bool complete)
    {
        _rows = rows;
        _layout = layout;
        RowsKept = rowsKept;
        Complete = complete;
        var fetched = new List<DataViewRowId>();
        for (int position = 0; position < rows.Length; position++)
        {
            if (IsShared(position))
            {
                fetched.Add(rows[position]);
            }
        }

        RowsFetched = fetched.Count;
        _fetched = new RowIdSet(fetched);
    }

    /// <summary>The rows the pass moves to in its batches, after the skipped ones, in the pass's order.</summary>
    public IReadOnlyList<DataViewRowId> Rows => _rows;

    /// <summary>The rows the view gave that the split keeps, skipped or not.</summary>
    public long RowsKept { get; }

    /// <summary>Whether the view gave every row the layout's batches need (a shared layout's are cut by the count before training).</summary>
    public bool Complete { get; }

    /// <summary>The rows whose label and pixels the pass fetches.</summary>
    public int RowsFetched { get; }

    /// <summary>
    /// Reads the row ids of a pass over <paramref name="data"/> in the order <paramref name="random"/> draws
    /// (the view's own order for null), keeps those <paramref name="split"/> keeps, and cuts them as
    /// <paramref name="layout"/> says.
    /// </summary>
    public static PassPlan Read(IDataView data, Random? random, RowSplit? split, PassLayout layout, CancellationToken stop)
    {
        var kept = new List<DataViewRowId>();
        using (DataViewRowCursor cursor = data.GetRowCursor([], random))
        {
            ValueGetter<DataViewRowId> getId = cursor.GetIdGetter();
            DataViewRowId id = default;
            while (cursor.MoveNext())
            {
                stop.ThrowIfCancellationRequested();
                getId(ref id);
                if (split is null || split.Keeps(id))
                {
                    kept.Add(id);
                }
            }
        }

        long afterSkip = Math.Max(0, kept.Count - layout.RowsSkipped);
        long batchSize = layout.BatchSize;
        // The rows the batches take: a shared layout's, by the count; whole batches', as many as there are, less a dropped short last batch's.
        long visited = layout.Batches is long batches
            ? (batches == 0 ? 0 : ((batches - 1) * batchSize) + layout.RowsOf(batches - 1))
            : layout.DropLastBatch ? afterSkip / batchSize * batchSize : afterSkip;
        bool complete = afterSkip >= visited;
        int first = (int)Math.Min(kept.Count, layout.RowsSkipped);
        DataViewRowId[] rows = [.. kept.Skip(first).Take((int)Math.Min(visited, afterSkip))];
        return new PassPlan(rows, layout, kept.Count, complete);
    }

    /// <summary>Whether the pass's row at <paramref name="position"/> (counted after the skipped ones) is one of this rank's, whose values are fetched.</summary>
    public bool IsShared(long position)
    {
        (int start, int count) = _layout.ShareOf(position / _layout.BatchSize);
        long offset = position % _layout.BatchSize;
        return offset >= start && offset < start + count;
    }

    /// <summary>Whether the pass fetches row <paramref name="id"/>'s values. Thread-safe.</summary>
    public bool Fetches(DataViewRowId id) => _fetched.Contains(id);

    /// <summary>
    /// A set of row ids: a bit per row where the ids are a view's row numbers (ML.NET's own views number
    /// their rows 0, 1, …: 160 kB for 1.28M rows, where a hash set would take tens of MB), a hash set
    /// otherwise. Read-only once made, so any number of threads can read it.
    /// </summary>
    private sealed class RowIdSet
    {
        private readonly BitArray? _numbers;
        private readonly HashSet<DataViewRowId>? _ids;

        public RowIdSet(List<DataViewRowId> ids)
        {
            ulong largest = ids.Count == 0 ? 0 : ids.Max(id => id.Low);
            bool numbers = ids.TrueForAll(id => id.High == 0) && largest < (ulong)Math.Min(int.MaxValue - 1, (64L * ids.Count) + (1 << 20));
            if (numbers)
            {
                _numbers = new BitArray((int)largest + 1);
                ids.ForEach(id => _numbers[(int)id.Low] = true);
            }
            else
            {
                _ids = [.. ids];
            }
        }

        public bool Contains(DataViewRowId id) => _numbers is not null
            ? id.High == 0 && id.Low < (ulong)_numbers.Length && _numbers[(int)id.Low]
            : _ids!.Contains(id);
    }
}
