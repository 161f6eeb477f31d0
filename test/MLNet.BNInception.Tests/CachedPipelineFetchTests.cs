using System.Collections.Concurrent;
using MLNet.BNInception.DataViews;
using MLNet.BNInception.Engine.Distributed;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Tests;

/// <summary>
/// A pass over a real ML.NET pipeline that can be read in any order (docs/distributed.md, "Reading the
/// data"): a list held in ML.NET's cache, with a transform above it that makes the pixels, as
/// <c>bninception train</c> reads its images. ML.NET's own cursor over such a view splits the pass into
/// parallel cursors and calls every getter of every row on its worker threads; the batch source fetches
/// the pixels of the rows the pass trains on only (not those a resume skips, nor another rank's), still on
/// several threads, and in the order ML.NET's cursor gives.
/// </summary>
public class CachedPipelineFetchTests : SingleThreadedFixture
{
    private const int Side = 4, BatchSize = 32;

    // The parallel cursors a pass reads, as many as ML.NET's own cursor asks for: the cores less one, at least 2.
    private static readonly int Cursors = Math.Max(2, Environment.ProcessorCount - 1);

    // Enough rows that what the workers may fetch ahead (AReaderThatStopsAfterOneBatchLeavesMostRowsUnfetched) is under half of them.
    private static readonly int Rows = Math.Max(1000, 200 * Cursors);
    private const ulong Seed = 5;

    private static readonly string[] ClassNames = ["circle", "square", "stripe"];

    private sealed class ListRow
    {
        public float Number { get; set; }

        public string Label { get; set; } = "";
    }

    private sealed class RowNumber
    {
        public float Number { get; set; }
    }

    private sealed class Pixels
    {
        [VectorType(1, Side, Side)]
        public float[] Features { get; set; } = [];
    }

    private sealed record Pass(List<(float[] Pixels, long[] Labels, long[] Rows)> Batches, long RowsHash);

    [Test]
    public void AResumedPassFetchesTheRowsAfterTheSkippedBatchesOnlyAndGivesTheTailOfTheWholePass()
    {
        var pipeline = new CountingPipeline();
        DataViewBatchSource source = pipeline.Source();
        long[] mlNetOrder = pipeline.RowsInMLNetOrder();

        pipeline.Forget();
        Pass whole = Read(source.ReadBatches(BatchSize, Seed, 0, false, CancellationToken.None));
        Assert.That(whole.Batches.SelectMany(batch => batch.Rows), Is.EqualTo(mlNetOrder), "the pass's order is ML.NET's own cursor's");
        Assert.That(pipeline.Fetched.Order(), Is.EqualTo(Enumerable.Range(0, Rows)), "a whole pass fetches every row once");

        const int skipped = 10;
        pipeline.Forget();
        Pass resumed = Read(source.ReadBatches(BatchSize, Seed, skipped, false, CancellationToken.None));

        Assert.That(pipeline.Fetched, Has.Count.EqualTo(Rows - (skipped * BatchSize)), "the skipped batches' rows are not fetched");
        Assert.That(pipeline.Fetched.Order(), Is.EqualTo(mlNetOrder.Skip(skipped * BatchSize).Order()));
        AssertSameBatches(resumed, new Pass(whole.Batches[skipped..], 0), "the resumed pass");
        Assert.That(pipeline.Threads, Has.Count.GreaterThanOrEqualTo(2), "the resumed pass fetches on ML.NET's parallel cursors' threads");
    }

    [TestCase(0)]
    [TestCase(3)]
    public void TwoRanksFetchEachRowOnceBetweenThemAndGetTheSlicesOfTheGlobalBatches(int skipBatches)
    {
        const int ranks = 2;
        var pipeline = new CountingPipeline();
        DataViewBatchSource source = pipeline.Source();

        Pass[] sliced = [.. Enumerable.Range(0, ranks).Select(rank =>
            Read(new RankShardedBatchSource(new WholeBatchesOnly(source), rank, ranks), skipBatches))];
        pipeline.Forget();
        var threads = new List<int>();
        Pass[] shared = new Pass[ranks];
        for (int rank = 0; rank < ranks; rank++)
        {
            shared[rank] = Read(new RankShardedBatchSource(source, rank, ranks), skipBatches);
            threads.Add(pipeline.Threads.Count);
            pipeline.Threads.Clear();
        }

        long[] trained = [.. sliced.SelectMany(pass => pass.Batches.SelectMany(batch => batch.Rows)).Order()];
        Assert.That(trained, Has.Length.EqualTo(Rows - (skipBatches * BatchSize * ranks)));
        Assert.That(pipeline.Fetched, Has.Count.EqualTo(trained.Length), "a fetch per row trained on, over both ranks");
        Assert.That(pipeline.Fetched.Order(), Is.EqualTo(trained), "each row trained on is fetched once over both ranks, and no other");
        for (int rank = 0; rank < ranks; rank++)
        {
            AssertSameBatches(shared[rank], sliced[rank], $"rank {rank}");
        }

        Assert.That(threads, Has.All.GreaterThanOrEqualTo(2), "each rank fetches on ML.NET's parallel cursors' threads");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void APassOverOneSideOfASplitFetchesThatSidesRowsOnly(bool heldOut)
    {
        var pipeline = new CountingPipeline();
        var split = new RowSplit(Seed: 3, Fraction: 0.25, HeldOut: heldOut);
        DataViewBatchSource source = pipeline.Source(split: split);
        pipeline.Forget();

        Pass pass = Read(source.ReadBatches(BatchSize, heldOut ? null : Seed, 0, false, CancellationToken.None));

        long[] side = [.. Enumerable.Range(0, Rows).Where(row => split.Keeps(new DataViewRowId((ulong)row, 0))).Select(row => (long)row)];
        Assert.That(pass.Batches.SelectMany(batch => batch.Rows).Order(), Is.EqualTo(side));
        Assert.That(pipeline.Fetched.Order(), Is.EqualTo(side), "the other side's rows are not fetched");
        Assert.That(pipeline.Threads, Has.Count.GreaterThanOrEqualTo(2));
    }

    [Test]
    public void AReaderThatStopsAfterOneBatchLeavesMostRowsUnfetched()
    {
        var pipeline = new CountingPipeline();
        DataViewBatchSource source = pipeline.Source();
        pipeline.Forget();

        using (LabelledBatch first = source.ReadBatches(BatchSize, Seed, 1, false, CancellationToken.None).First())
        {
            Assert.That(first.Rows, Has.Count.EqualTo(BatchSize));
        }

        // What the reader may hold when the first batch is taken: the batch taken, the two read ahead and
        // the one being filled; and for each of the parallel cursors (as many as ML.NET's own cursor asks
        // for: the cores less one, at least 2), the 64 rows fetched ahead of the merge, the one the merge
        // holds and the one in the worker's hand: under half the rows.
        int readAhead = (BatchSize * 4) + (Cursors * (64 + 2));
        Assert.That(pipeline.Fetched, Has.Count.LessThanOrEqualTo(readAhead), "fetching stops with the reader");
    }

    [Test]
    public void ACancelledPassStopsItsFetching()
    {
        var pipeline = new CountingPipeline();
        DataViewBatchSource source = pipeline.Source();
        using var cancel = new CancellationTokenSource();
        pipeline.Forget();

        Assert.Catch<OperationCanceledException>(() =>
        {
            foreach (LabelledBatch batch in source.ReadBatches(BatchSize, Seed, 1, false, cancel.Token))
            {
                batch.Dispose();
                cancel.Cancel();
            }
        });
        int fetched = pipeline.Fetched.Count;
        Thread.Sleep(200);
        Assert.That(pipeline.Fetched, Has.Count.EqualTo(fetched), "no fetch after the pass ended");
    }

    [Test]
    public void AWholePassStillFetchesOnSeveralThreads()
    {
        var pipeline = new CountingPipeline();
        DataViewBatchSource source = pipeline.Source();
        pipeline.Forget();

        Read(source.ReadBatches(BatchSize, Seed, 0, false, CancellationToken.None));

        Assert.That(pipeline.Threads, Has.Count.GreaterThanOrEqualTo(2));
    }

    [Test]
    public void ABadRowFailsThePassWhereItComesInTheOrderWhicheverThreadMetItFirst()
    {
        var pipeline = new CountingPipeline();
        DataViewBatchSource source = pipeline.Source();
        long[] order = pipeline.RowsInMLNetOrder();
        // In ML.NET's cache's blocks 6 and 7 of 64 rows, which its two parallel cursors take one each.
        pipeline.BadRows[order[400]] = true;
        pipeline.BadRows[order[460]] = true;

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => Read(source.ReadBatches(BatchSize, Seed, 10, false, CancellationToken.None)))!;
        Assert.That(error.Message, Is.EqualTo($"Row {order[400]} of the training data (0-based, in the source's order) has a non-finite pixel: Features[0] is NaN."));
    }

    [Test]
    public void AViewWhoseParallelCursorsGiveAnotherOrderIsRefusedRatherThanTrainedInIt()
    {
        var pipeline = new CountingPipeline();
        DataViewBatchSource source = pipeline.Source(new ReorderedWhenSplit(pipeline.View));

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => Read(source.ReadBatches(BatchSize, Seed, 1, false, CancellationToken.None)))!;
        Assert.That(error.Message, Does.Contain("the view does not give its rows in the same order both ways"));
    }

    private static Pass Read(RankShardedBatchSource rank, int skipBatches)
    {
        Pass pass = Read(rank.ReadBatches(BatchSize, Seed, skipBatches, false, CancellationToken.None));
        return pass with { RowsHash = rank.RowsHashOfLastPass };
    }

    private static Pass Read(IEnumerable<LabelledBatch> batches)
    {
        var read = new List<(float[], long[], long[])>();
        foreach (LabelledBatch batch in batches)
        {
            using (batch)
            {
                read.Add((batch.Images.data<float>().ToArray(), batch.Labels.data<long>().ToArray(), [.. batch.Rows]));
            }
        }

        return new Pass(read, 0);
    }

    private static void AssertSameBatches(Pass actual, Pass expected, string what)
    {
        Assert.That(actual.Batches.Select(batch => batch.Rows), Is.EqualTo(expected.Batches.Select(batch => batch.Rows)), $"{what}'s rows");
        Assert.That(actual.Batches.Select(batch => batch.Labels), Is.EqualTo(expected.Batches.Select(batch => batch.Labels)), $"{what}'s labels");
        Assert.That(actual.Batches.Select(batch => batch.Pixels), Is.EqualTo(expected.Batches.Select(batch => batch.Pixels)), $"{what}'s pixels");
        Assert.That(actual.RowsHash, Is.EqualTo(expected.RowsHash), $"{what}'s hash of the global batches' rows");
    }

    /// <summary>
    /// A list of <see cref="Rows"/> rows in ML.NET's cache, and above it a CustomMapping that makes each
    /// row's pixels from its number (row i's pixels are i + a hundredth per pixel), counting each row it
    /// maps and the threads it maps on: a stand-in for loading and decoding an image.
    /// </summary>
    private sealed class CountingPipeline
    {
        private readonly MLContext _ml = new(seed: 1);
        private readonly ConcurrentQueue<long> _fetched = new();
        private readonly IDataView _view;

        public CountingPipeline()
        {
            IDataView list = _ml.Data.LoadFromEnumerable(Enumerable.Range(0, Rows).Select(i => new ListRow { Number = i, Label = ClassNames[i % 3] }));
            IDataView keys = _ml.Data.LoadFromEnumerable(ClassNames.Select(name => new { Label = name }));
            IDataView keyed = _ml.Transforms.Conversion.MapValueToKey("Label", keyData: keys).Fit(list).Transform(list);
            IDataView cached = _ml.Data.Cache(keyed);
            _view = _ml.Transforms.CustomMapping<RowNumber, Pixels>(Map, contractName: null).Fit(cached).Transform(cached);
            Assert.That(_view.CanShuffle, Is.True);
        }

        /// <summary>The rows whose pixels were made since the last <see cref="Forget"/>, once per making.</summary>
        public List<long> Fetched => [.. _fetched];

        /// <summary>The threads that made them.</summary>
        public ConcurrentDictionary<int, bool> Threads { get; } = new();

        /// <summary>Rows whose first pixel is made NaN.</summary>
        public ConcurrentDictionary<long, bool> BadRows { get; } = new();

        public IDataView View => _view;

        public DataViewBatchSource Source(IDataView? view = null, RowSplit? split = null) =>
            new(view ?? _view, "Label", "Features", new ImageFeatureLayout(1, Side), ClassNames.Length, _ml, 1000, split, "training", null, CancellationToken.None);

        /// <summary>The rows in the order ML.NET's own cursor over label and pixels gives for the pass's seed, as the batch source read them before.</summary>
        public long[] RowsInMLNetOrder()
        {
            var rows = new List<long>();
            using DataViewRowCursor cursor = _view.GetRowCursor([_view.Schema["Label"], _view.Schema["Features"]], new Random((int)Seed));
            ValueGetter<DataViewRowId> getId = cursor.GetIdGetter();
            DataViewRowId id = default;
            while (cursor.MoveNext())
            {
                getId(ref id);
                rows.Add((long)id.Low);
            }

            return [.. rows];
        }

        public void Forget()
        {
            _fetched.Clear();
            Threads.Clear();
        }

        private void Map(RowNumber row, Pixels pixels)
        {
            _fetched.Enqueue((long)row.Number);
            Threads[Environment.CurrentManagedThreadId] = true;
            pixels.Features = [.. Enumerable.Range(0, Side * Side).Select(pixel => row.Number + (pixel / 100f))];
            if (BadRows.ContainsKey((long)row.Number))
            {
                pixels.Features[0] = float.NaN;
            }
        }
    }

    /// <summary>The source as one that can only give whole batches: what every rank read before it could read a share.</summary>
    private sealed class WholeBatchesOnly(ILabelledBatchSource source) : ILabelledBatchSource
    {
        public long Count => source.Count;

        public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch, CancellationToken cancellationToken) =>
            source.ReadBatches(batchSize, shuffleSeed, skipBatches, dropLastBatch, cancellationToken);
    }

    /// <summary>A view whose parallel cursors give its rows in another order than its cursor does, for the same seed.</summary>
    private sealed class ReorderedWhenSplit(IDataView inner) : IDataView
    {
        public DataViewSchema Schema => inner.Schema;

        public bool CanShuffle => inner.CanShuffle;

        public long? GetRowCount() => inner.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
            inner.GetRowCursor(columnsNeeded, rand);

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
            inner.GetRowCursorSet(columnsNeeded, n, rand is null ? null : new Random(rand.Next()));
    }
}
