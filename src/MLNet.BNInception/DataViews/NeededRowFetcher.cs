using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.ExceptionServices;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNet.BNInception.DataViews;

/// <summary>One row's checked label and pixels as <see cref="NeededRowFetcher"/> hands them on, or the failure met in its place.</summary>
/// <param name="Batch">The cursor's <c>DataViewRowCursor.Batch</c> at the row: what the rows of parallel cursors are merged by.</param>
/// <param name="Id">The row's id.</param>
/// <param name="Key">The label's key, from 1.</param>
/// <param name="Pixels">The image, an array of <see cref="CheckedRowReader.ImageSize"/> values that <see cref="NeededRowFetcher.Recycle"/> takes back.</param>
/// <param name="Failure">What reading the row, or moving to it, raised; the other fields are then unset.</param>
internal readonly record struct FetchedRow(long Batch, DataViewRowId Id, uint Key, float[]? Pixels, ExceptionDispatchInfo? Failure);

/// <summary>
/// Fetches the label and pixels of the rows a <see cref="PassPlan"/> fetches, and of no other, in the order
/// the view's own cursor gives them. A view that can be read in any order splits a pass into parallel
/// cursors (<see cref="IDataView.GetRowCursorSet"/>; ML.NET's cache hands them blocks of 64 rows, each
/// block with its own <c>DataViewRowCursor.Batch</c>): ML.NET's own cursor over such a view
/// (its consolidator) calls every getter of every row on its worker threads and merges the blocks by
/// Batch, so it decodes every image whether the reader needs it or not. Here one worker thread per
/// cursor moves through its rows reading their ids and calls the getters of the needed rows only; the
/// rows are merged by Batch the same way, so the order is the consolidator's. A view that does not
/// split gives one cursor, read on the caller's thread.
/// </summary>
internal sealed class NeededRowFetcher : IDisposable
{
    // Rows a worker may have fetched ahead of the merge: one block of ML.NET's cache, so that each
    // worker decodes its next block while the merge takes the others' (the consolidator holds about as many).
    private const int RowsAheadPerWorker = 64;

    private readonly DataViewRowCursor[] _cursors;
    private readonly DataViewSchema.Column _label;
    private readonly DataViewSchema.Column _features;
    private readonly Func<DataViewRowId, bool> _fetches;
    private readonly CheckedRowReader _reader;
    private readonly CancellationTokenSource _stop;
    private readonly BlockingCollection<FetchedRow>[] _queues;
    private readonly Task[] _workers;
    private readonly FetchedRow?[] _heads;
    private readonly bool[] _ended;
    // Arrays of exactly one image, reused: ArrayPool's power-of-two sizes would hold 1.7 times as much at 224×224.
    private readonly ConcurrentBag<float[]> _spare = [];
    private RowValues? _here;

    /// <param name="data">The view.</param>
    /// <param name="label">Its label column.</param>
    /// <param name="features">Its pixel column.</param>
    /// <param name="random">The pass's order, as given to the plan's id pass; null for the view's own order.</param>
    /// <param name="fetches">Whether a row's values are fetched (<see cref="PassPlan.Fetches"/>); called from several threads.</param>
    /// <param name="reader">Reads and checks a row.</param>
    /// <param name="stop">Stops the workers.</param>
    public NeededRowFetcher(IDataView data, DataViewSchema.Column label, DataViewSchema.Column features, Random? random,
        Func<DataViewRowId, bool> fetches, CheckedRowReader reader, CancellationToken stop)
    {
        _label = label;
        _features = features;
        _fetches = fetches;
        _reader = reader;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(stop);
        // As many as ML.NET's own cursor asks for (DataViewUtils.GetThreadCount).
        _cursors = data.GetRowCursorSet([label, features], Math.Max(2, Environment.ProcessorCount - 1), random);
        int parallel = _cursors.Length > 1 ? _cursors.Length : 0;
        _queues = [.. Enumerable.Range(0, parallel).Select(_ => new BlockingCollection<FetchedRow>(RowsAheadPerWorker))];
        _heads = new FetchedRow?[parallel];
        _ended = new bool[parallel];
        _workers = [.. Enumerable.Range(0, parallel).Select(worker => Task.Factory.StartNew(() => Work(worker), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default))];
    }

    /// <summary>The cursors the view split the pass into; 1 where it does not split.</summary>
    public int Cursors => _cursors.Length;

    /// <summary>
    /// The next fetched row in the pass's order; false after the last. A failure met reading a row is
    /// raised when the merge reaches that row, so the pass fails at its first bad row in order, whichever
    /// thread met it first.
    /// </summary>
    public bool TryNext(out FetchedRow row)
    {
        row = _workers.Length == 0 ? FetchOnThisThread() : Merge();
        if (row.Failure is { } failure)
        {
            failure.Throw();
        }

        return row.Pixels is not null;
    }

    /// <summary>
    /// The next fetched row, which must be <paramref name="expected"/>, the row at <paramref name="position"/>
    /// of the pass's batches in the order the plan read: training in another order than the seed's would
    /// change the weights, and a resumed run's rows, silently.
    /// </summary>
    public FetchedRow TakeNextInOrder(DataViewRowId expected, int position, string what)
    {
        bool more = TryNext(out FetchedRow row);
        if (!more || !row.Id.Equals(expected))
        {
            string given = more ? string.Create(CultureInfo.InvariantCulture, $"row {row.Id.Low}") : "no more rows";
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"The {what} data's {Cursors} parallel cursors gave {given} where its cursor without columns gave row {expected.Low}, at row {position} of this pass's batches: the view does not give its rows in the same order both ways (its parallel cursors may number their rows' Batch alike, or not in increasing order), and this pass reads its rows in the order of the first while fetching only the values it needs through the second."));
        }

        return row;
    }

    /// <summary>Gives a row's pixel array back, once its values are copied out.</summary>
    public void Recycle(float[] pixels) => _spare.Add(pixels);

    /// <summary>Stops the workers, waits for them (they close their cursors), and gives back what they fetched ahead.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        if (_workers.Length == 0)
        {
            _cursors[0].Dispose();
        }

        // Each worker catches its own failures, so waiting raises nothing.
        Task.WaitAll(_workers);
        foreach (BlockingCollection<FetchedRow> queue in _queues)
        {
            queue.Dispose();
        }

        _spare.Clear();
        _stop.Dispose();
    }

    // The next needed row of the one cursor, read here: the rows in between are moved past by their ids.
    private FetchedRow FetchOnThisThread()
    {
        _here ??= new RowValues(_cursors[0], this);
        DataViewRowId id = default;
        while (_here.Cursor.MoveNext())
        {
            _stop.Token.ThrowIfCancellationRequested();
            _here.GetId(ref id);
            if (_fetches(id))
            {
                return _here.Fetch(id);
            }
        }

        return default;
    }

    // The workers' rows in increasing Batch, as ML.NET's consolidator gives them: every worker that has
    // not ended must show its next row before the lowest is known.
    private FetchedRow Merge()
    {
        int lowest = -1;
        for (int worker = 0; worker < _workers.Length; worker++)
        {
            if (_ended[worker])
            {
                continue;
            }

            if (_heads[worker] is null)
            {
                if (_queues[worker].TryTake(out FetchedRow next, Timeout.Infinite, _stop.Token))
                {
                    _heads[worker] = next;
                }
                else
                {
                    _ended[worker] = true;
                    continue;
                }
            }

            if (lowest < 0 || _heads[worker]!.Value.Batch < _heads[lowest]!.Value.Batch)
            {
                lowest = worker;
            }
        }

        if (lowest < 0)
        {
            return default;
        }

        FetchedRow row = _heads[lowest]!.Value;
        _heads[lowest] = null;
        return row;
    }

    private void Work(int worker)
    {
        DataViewRowCursor cursor = _cursors[worker];
        BlockingCollection<FetchedRow> queue = _queues[worker];
        long batch = -1;
        try
        {
            using (cursor)
            {
                var values = new RowValues(cursor, this);
                DataViewRowId id = default;
                while (cursor.MoveNext())
                {
                    _stop.Token.ThrowIfCancellationRequested();
                    batch = cursor.Batch;
                    values.GetId(ref id);
                    if (_fetches(id))
                    {
                        queue.Add(values.Fetch(id), _stop.Token);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopped: the merge wants no more.
        }
        catch (Exception error)
        {
            // Handed on in its place in the order, for the merge to raise there: the block the cursor
            // had moved to when it failed, which may be a new one when MoveNext itself failed.
            batch = Math.Max(batch, BatchOrNone(cursor));
            try
            {
                queue.Add(new FetchedRow(batch, default, 0, null, ExceptionDispatchInfo.Capture(error)), _stop.Token);
            }
            catch (OperationCanceledException)
            {
                // Stopped meanwhile: nobody is left to tell.
            }
        }
        finally
        {
            queue.CompleteAdding();
        }
    }

    private static long BatchOrNone(DataViewRowCursor cursor)
    {
        try
        {
            return cursor.Batch;
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException)
        {
            return -1;
        }
    }

    // One cursor's getters, and the buffer its pixel getter reuses from row to row: one per thread.
    private sealed class RowValues(DataViewRowCursor cursor, NeededRowFetcher fetcher)
    {
        private readonly ValueGetter<uint> _getLabel = cursor.GetGetter<uint>(fetcher._label);
        private readonly ValueGetter<VBuffer<float>> _getFeatures = cursor.GetGetter<VBuffer<float>>(fetcher._features);
        private VBuffer<float> _buffer;

        public DataViewRowCursor Cursor => cursor;

        public ValueGetter<DataViewRowId> GetId { get; } = cursor.GetIdGetter();

        public FetchedRow Fetch(DataViewRowId id)
        {
            int size = fetcher._reader.ImageSize;
            float[] pixels = fetcher._spare.TryTake(out float[]? spare) ? spare : new float[size];
            try
            {
                uint key = fetcher._reader.ReadRow(_getLabel, _getFeatures, ref _buffer, id, pixels);
                return new FetchedRow(cursor.Batch, id, key, pixels, null);
            }
            catch
            {
                fetcher.Recycle(pixels);
                throw;
            }
        }
    }
}
