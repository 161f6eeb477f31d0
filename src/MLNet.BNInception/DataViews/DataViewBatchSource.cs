using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML;
using MLNet.BNInception.Engine.Distributed;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Images;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.DataViews;

/// <summary>
/// Labelled images read from an ML.NET data view a batch at a time, for the engine's trainer: each
/// pass opens a new cursor (in an order drawn from the pass's seed, or in the view's own order),
/// and a reader thread pulls rows through the pipeline (file reading, decoding, resizing, pixel
/// extraction all happen in the getters) up to two batches ahead of the network. The whole set is
/// never materialised; ML.NET's <c>AppendCacheCheckpoint</c>, when the pipeline has one, is what
/// caches. A row filter on the row ids (<see cref="RowSplit"/>) holds out a validation fraction
/// without making the view unshufflable, as ML.NET's <c>TrainTestSplit</c> would. A pass that leaves
/// rows out (a resume's skipped batches, the other ranks' rows in a data-parallel run through
/// <see cref="IShardableBatchSource"/>, the other side of a split) reads the pass's row ids first
/// (<see cref="PassPlan"/>), then fetches the labels and pixels of its own rows only, in parallel and
/// in the same order (<see cref="NeededRowFetcher"/>), where ML.NET's own cursor would fetch them all;
/// a pass through ML.NET's shuffle pool reads the pool's order from the ids and fetches in the view's
/// own order, each row waiting for its turn (<see cref="PoolOrderedRows"/>).
/// </summary>
internal sealed class DataViewBatchSource : IShardableBatchSource
{
    private const int BatchesAhead = 2;

    // How long a stopped pass waits for its reader to notice; a reader blocked inside ML.NET (a
    // cache filling, a shuffle pool loading) is left to finish on its own rather than waited for.
    private static readonly TimeSpan ReaderStopWait = TimeSpan.FromSeconds(2);

    private readonly IDataView _data;
    private readonly string _labelColumn;
    private readonly string _featureColumn;
    private readonly ImageFeatureLayout _layout;
    private readonly int _classes;
    private readonly MLContext _shuffler;
    private readonly int _shufflePoolSize;
    private readonly RowSplit? _split;
    private readonly string _what;
    private readonly TrainingLog? _log;
    private readonly CheckedRowReader _rowReader;

    /// <param name="data">The view; its schema has been checked.</param>
    /// <param name="labelColumn">A key column of <paramref name="classes"/> classes.</param>
    /// <param name="featureColumn">A Single vector of <paramref name="layout"/>'s size.</param>
    /// <param name="layout">The image the features hold.</param>
    /// <param name="classes">The label's class count.</param>
    /// <param name="shuffler">Makes ML.NET's pool shuffle for views that cannot shuffle themselves.</param>
    /// <param name="shufflePoolSize">Rows in that pool.</param>
    /// <param name="split">The rows to keep, by row id; null for all.</param>
    /// <param name="what">Names the data in messages ("training", "validation").</param>
    /// <param name="log">Where each pass reports how long the network waited for the pipeline; null for nowhere.</param>
    /// <param name="cancellationToken">Stops the counting pass.</param>
    public DataViewBatchSource(IDataView data, string labelColumn, string featureColumn, ImageFeatureLayout layout, int classes,
        MLContext shuffler, int shufflePoolSize, RowSplit? split, string what, TrainingLog? log, CancellationToken cancellationToken)
    {
        _data = data;
        _labelColumn = labelColumn;
        _featureColumn = featureColumn;
        _layout = layout;
        _classes = classes;
        _shuffler = shuffler;
        _shufflePoolSize = shufflePoolSize;
        _split = split;
        _what = what;
        _log = log;
        _rowReader = new CheckedRowReader(labelColumn, featureColumn, layout, classes, what);
        (Count, GroupedByLabel) = CountRowsCheckingLabels(cancellationToken);
    }

    /// <inheritdoc/>
    public long Count { get; }

    /// <summary>
    /// Whether the rows, in the view's own order, come grouped by label, as a listing of one folder per
    /// class does: the label changes from one row to the next less than half as often as in a random
    /// order of the same rows. ML.NET's shuffle pool mixes such rows poorly.
    /// </summary>
    public bool GroupedByLabel { get; }

    /// <summary>Whether each pass goes through ML.NET's shuffle pool, for a view that cannot be read in any order, with more rows than the pool holds.</summary>
    public bool ShufflesInAPool => !_data.CanShuffle && Count > _shufflePoolSize;

    /// <summary>How the passes are shuffled, for the log.</summary>
    public string ShuffleDescription => _data.CanShuffle
        ? "a full reshuffle every epoch (the view can be read in any order)"
        : string.Create(CultureInfo.InvariantCulture,
            $"ML.NET's pool shuffle every epoch, {_shufflePoolSize} rows at a time (the view cannot be read in any order; AppendCacheCheckpoint before the trainer makes it one that can)");

    /// <inheritdoc/>
    public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(skipBatches);
        return Read(PassLayout.Whole(batchSize, skipBatches, dropLastBatch), shuffleSeed, cancellationToken).Select(share => share.Batch);
    }

    /// <inheritdoc/>
    public IEnumerable<BatchShare> ReadShares(PassLayout pass, ulong? shuffleSeed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pass);
        return Read(pass, shuffleSeed, cancellationToken);
    }

    private IEnumerable<BatchShare> Read(PassLayout pass, ulong? shuffleSeed, CancellationToken cancellationToken)
    {
        var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ready = new BlockingCollection<RawBatch>(BatchesAhead);
        Task reader = Task.Factory.StartNew(() => Produce(ready, pass, shuffleSeed, stop.Token),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        // How long the consumer (the network) sat waiting for the reader (the pipeline): near zero
        // when the network is the bottleneck, as it should be.
        long started = Stopwatch.GetTimestamp(), waiting = 0, rows = 0;
        try
        {
            using IEnumerator<RawBatch> batches = ready.GetConsumingEnumerable(cancellationToken).GetEnumerator();
            while (true)
            {
                long asked = Stopwatch.GetTimestamp();
                bool more = batches.MoveNext();
                waiting += Stopwatch.GetTimestamp() - asked;
                if (!more)
                {
                    break;
                }

                BatchShare share = batches.Current.ToTensors(_layout);
                rows += share.Batch.Rows.Count;
                yield return share;
            }

            // The reader's own failure (a bad row) surfaces here, in the trainer's thread; its
            // cancellation, as the caller's.
            try
            {
                reader.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
        }
        finally
        {
            // Also when the trainer stops asking, after the pass's last step.
            if (rows > 0)
            {
                double total = Stopwatch.GetElapsedTime(started).TotalSeconds, waited = (double)waiting / Stopwatch.Frequency;
                _log?.Info(string.Create(CultureInfo.InvariantCulture,
                    $"{_what} pass of {rows} rows: {total:F1} s, of which the network waited {waited:F1} s ({waited / Math.Max(total, 1e-9):P0}) for the pipeline's images"));
            }

            // A failure of the reader after the consumer has all it needs is moot: only waited for.
            stop.Cancel();
            if (WaitQuietly(reader, ReaderStopWait))
            {
                ready.Dispose();
                stop.Dispose();
            }
            else
            {
                _ = reader.ContinueWith(_ =>
                {
                    ready.Dispose();
                    stop.Dispose();
                }, TaskScheduler.Default);
            }
        }
    }

    private void Produce(BlockingCollection<RawBatch> ready, PassLayout pass, ulong? shuffleSeed, CancellationToken stop)
    {
        try
        {
            // A pass that leaves no row out has nothing to leave unfetched.
            bool leavesRowsOut = pass.RowsSkipped > 0 || pass.Ranks > 1 || _split is not null;
            if (leavesRowsOut)
            {
                ProduceFetchingOnlyNeededRows(ready, pass, shuffleSeed, stop);
            }
            else
            {
                ProduceReadingEveryRow(ready, pass, shuffleSeed, stop);
            }
        }
        catch (Exception error) when (InvalidImageException.FindIn(error) is { } invalid)
        {
            // ML.NET's shuffle pool and cache load rows on threads of their own and rethrow a failure
            // wrapped in generic exceptions ("Shuffle input cursor reader failed…"): the caller gets the
            // loader's, which names the row and path, with ML.NET's kept inside it, and says which data:
            // the training and validation views of one loader number their rows alike.
            throw invalid.RaisedFrom(error, _what);
        }
        finally
        {
            ready.CompleteAdding();
        }
    }

    // The rows of the pass are known first, from their ids alone (PassPlan); then the labels and pixels of
    // this rank's rows after the skipped ones are fetched, and no others, on as many threads as ML.NET's
    // own cursor would use (NeededRowFetcher), in the order that cursor gives: the pass's order, or, for
    // a pass through ML.NET's shuffle pool, the view's own, the rows waiting for their turn (PoolOrderedRows).
    private void ProduceFetchingOnlyNeededRows(BlockingCollection<RawBatch> ready, PassLayout pass, ulong? shuffleSeed, CancellationToken stop)
    {
        PassPlan plan = PassPlan.Read(PassView(shuffleSeed), PassRandom(shuffleSeed), _split, pass, stop);
        if (!plan.Complete)
        {
            throw FewerRowsThanCounted(plan.RowsKept);
        }

        // A pass with nothing to fetch (a resume past every batch, an empty share) starts no threads.
        using NeededRowFetcher? fetcher = plan.RowsFetched == 0 ? null : new NeededRowFetcher(_data, _data.Schema[_labelColumn],
            _data.Schema[_featureColumn], PassRandom(shuffleSeed), plan.Fetches, _rowReader, stop);
        PoolOrderedRows? poolOrder = fetcher is not null && ThroughPool(shuffleSeed) ? new(fetcher, _shufflePoolSize, _what) : null;
        RawBatch? batch = null;
        long batchesDone = 0;
        for (int position = 0; position < plan.Rows.Count; position++)
        {
            stop.ThrowIfCancellationRequested();
            DataViewRowId id = plan.Rows[position];
            batch ??= new RawBatch(pass.RowsOf(batchesDone), pass.ShareOf(batchesDone), _layout.Size, rowsLeft: plan.Rows.Count - position);
            if (batch.NextIsShared)
            {
                FetchedRow row = poolOrder?.Take(id, position, stop) ?? fetcher!.TakeNextInOrder(id, position, _what);
                row.Pixels.AsSpan(0, _layout.Size).CopyTo(batch.NextSlot);
                fetcher!.Recycle(row.Pixels!);
                batch.AddShared(row.Key - 1, (long)id.Low);
            }
            else
            {
                batch.AddOther((long)id.Low);
            }

            if (batch.IsComplete)
            {
                ready.Add(batch, stop);
                batch = null;
                batchesDone++;
            }
        }

        // The plan leaves out a dropped short last batch: what is left here is one to train on.
        if (batch is { Count: > 0 })
        {
            ready.Add(batch, stop);
        }
    }

    // A pass that leaves no row out (one rank, no split, nothing skipped: Produce sends the others to the fetching
    // path) reads every row's values through ML.NET's own cursor, or its shuffle pool.
    private void ProduceReadingEveryRow(BlockingCollection<RawBatch> ready, PassLayout pass, ulong? shuffleSeed, CancellationToken stop)
    {
        Debug.Assert(pass.RowsSkipped == 0 && pass.Ranks == 1 && _split is null, "a pass that leaves rows out fetches its own only");
        using DataViewRowCursor cursor = OpenCursor(shuffleSeed, out DataViewSchema.Column label, out DataViewSchema.Column features);
        ValueGetter<uint> getLabel = cursor.GetGetter<uint>(label);
        ValueGetter<VBuffer<float>> getFeatures = cursor.GetGetter<VBuffer<float>>(features);
        ValueGetter<DataViewRowId> getId = cursor.GetIdGetter();
        VBuffer<float> pixels = default;
        DataViewRowId id = default;
        long rowsSeen = 0, batchesDone = 0;
        RawBatch? batch = null;
        // A pass of known batches stops after its last: the rows of a dropped short one are not even moved to.
        while ((pass.Batches is not long batches || batchesDone < batches) && cursor.MoveNext())
        {
            stop.ThrowIfCancellationRequested();
            getId(ref id);
            rowsSeen++;
            batch ??= new RawBatch(pass.RowsOf(batchesDone), pass.ShareOf(batchesDone), _layout.Size, rowsLeft: Count - rowsSeen + 1);
            uint key = _rowReader.ReadRow(getLabel, getFeatures, ref pixels, id, batch.NextSlot);
            batch.AddShared(key - 1, (long)id.Low);
            if (batch.IsComplete)
            {
                ready.Add(batch, stop);
                batch = null;
                batchesDone++;
            }
        }

        if (pass.Batches is long expected && batchesDone < expected)
        {
            throw FewerRowsThanCounted(rowsSeen);
        }

        if (batch is { Count: > 0 } && !pass.DropLastBatch)
        {
            ready.Add(batch, stop);
        }
    }

    private InvalidDataException FewerRowsThanCounted(long rowsSeen) => new(string.Create(CultureInfo.InvariantCulture,
        $"The {_what} data gave {rowsSeen} rows in this pass, not the {Count} it had when counted before training: the ranks of a data-parallel run cut each pass into global batches by that count, so every pass must give the same rows."));

    // The order a view that can be read in any order gives a pass: a fresh Random of the same seed gives the same order every time.
    private Random? PassRandom(ulong? shuffleSeed) => shuffleSeed is ulong seed && _data.CanShuffle ? new Random(Seed32(seed)) : null;

    private static int Seed32(ulong seed) => unchecked((int)(seed ^ (seed >> 32)));

    // What a pass reads: ML.NET's shuffle pool over the data for a shuffled pass over a view that cannot be
    // read in any order, whose order the pool's seed and size and the view's rows decide, whichever columns are read.
    private IDataView PassView(ulong? shuffleSeed) => ThroughPool(shuffleSeed)
        ? _shuffler.Data.ShuffleRows(_data, Seed32(shuffleSeed!.Value), _shufflePoolSize, shuffleSource: false)
        : _data;

    private bool ThroughPool(ulong? shuffleSeed) => shuffleSeed is not null && !_data.CanShuffle;

    private DataViewRowCursor OpenCursor(ulong? shuffleSeed, out DataViewSchema.Column label, out DataViewSchema.Column features)
    {
        IDataView view = PassView(shuffleSeed);
        label = view.Schema[_labelColumn];
        features = view.Schema[_featureColumn];
        return view.GetRowCursor([label, features], PassRandom(shuffleSeed));
    }

    private static bool WaitQuietly(Task task, TimeSpan timeout)
    {
        try
        {
            return task.Wait(timeout);
        }
        catch (AggregateException)
        {
            return true;
        }
    }

    // One pass over the label column alone (no image is decoded for it, unless a filter before it
    // must decode them to know which rows exist): the rows are counted, and a row without a label is
    // refused here, before the first step, not when a pass reaches it, which for validation rows is
    // after a whole epoch of training.
    private (long Rows, bool GroupedByLabel) CountRowsCheckingLabels(CancellationToken cancellationToken)
    {
        long count = 0, changes = 0;
        uint previous = 0;
        var perClass = new long[_classes + 1];
        using DataViewRowCursor cursor = _data.GetRowCursor([_data.Schema[_labelColumn]]);
        ValueGetter<DataViewRowId> getId = cursor.GetIdGetter();
        ValueGetter<uint> getLabel = cursor.GetGetter<uint>(_data.Schema[_labelColumn]);
        DataViewRowId id = default;
        uint key = 0;
        while (cursor.MoveNext())
        {
            cancellationToken.ThrowIfCancellationRequested();
            getId(ref id);
            if (_split is not null && !_split.Keeps(id))
            {
                continue;
            }

            _rowReader.Read(getLabel, ref key, id, _labelColumn);
            if (!_rowReader.IsLabel(key))
            {
                throw _rowReader.NoLabel(id);
            }

            changes += count > 0 && key != previous ? 1 : 0;
            previous = key;
            perClass[key]++;
            count++;
        }

        // In a random order of the rows, two neighbours differ with probability 1 − Σ pₖ² (pₖ: class k's share).
        double sameClass = perClass.Sum(rows => (double)rows / Math.Max(count, 1) * rows / Math.Max(count, 1));
        return (count, count > 1 && changes < 0.5 * (count - 1) * (1 - sameClass));
    }
}
