using System.Collections.Concurrent;
using System.Globalization;
using MLNet.BNInception.DataViews;
using MLNet.BNInception.Engine.Distributed;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Tests;

/// <summary>
/// A list read from its text file directly, as <c>bninception train --shuffle-pool N</c> reads it: a view that
/// cannot be read in any order, so each epoch goes through ML.NET's shuffle pool (docs/distributed.md,
/// "Reading the data"). A pass that leaves rows out reads the pool's order from the rows' ids alone and
/// fetches its own rows' pixels only, over the text loader's parallel cursors, in the file's order, each
/// row waiting for its turn in the pool's; the batches are those ML.NET's pool gives.
/// </summary>
public class PoolShuffledTextFileTests : SingleThreadedFixture
{
    private const int Rows = 600, Side = 4, BatchSize = 16, Pool = 50, Ranks = 2;
    private const ulong Seed = 5;

    private static readonly string[] ClassNames = ["circle", "square", "stripe"];

    private sealed class RowNumber
    {
        public float Number { get; set; }
    }

    private sealed class Pixels
    {
        [VectorType(1, Side, Side)]
        public float[] Features { get; set; } = [];
    }

    private sealed record Pass(List<(float[] Pixels, long[] Labels, long[] Rows)> Batches);

    [TestCase(0)]
    [TestCase(5)]
    public void TwoRanksFetchEachRowOnceBetweenThemAndGetTheBatchesOfMLNetsPool(int skipBatches)
    {
        using var folder = new TemporaryDirectory();
        var pipeline = new CountingTextPipeline(folder.File("list.csv"));
        DataViewBatchSource source = pipeline.Source();

        // A whole pass of whole global batches reads every row through ML.NET's pool, as every rank did before.
        Pass[] whole = [.. Enumerable.Range(0, Ranks).Select(rank => Read(new RankShardedBatchSource(new WholeBatchesOnly(source), rank, Ranks), 0))];
        Assert.That(pipeline.Fetched, Has.Count.EqualTo(2 * Rows), "ML.NET's pool fetches every row for each rank");
        pipeline.Forget();
        Pass[] shared = [.. Enumerable.Range(0, Ranks).Select(rank => Read(new RankShardedBatchSource(source, rank, Ranks), skipBatches))];

        long[] trained = [.. whole.SelectMany(pass => pass.Batches.Skip(skipBatches).SelectMany(batch => batch.Rows)).Order()];
        Assert.That(trained, Has.Length.EqualTo(Rows - (skipBatches * BatchSize * Ranks)));
        Assert.That(pipeline.Fetched.Order(), Is.EqualTo(trained), "each row trained on is fetched once over both ranks, and no other");
        Assert.That(pipeline.Threads, Has.Count.GreaterThanOrEqualTo(2), "on the text loader's parallel cursors' threads");
        long[] order = [.. whole[0].Batches[0].Rows];
        Assert.That(order, Is.Not.Ordered, "the pool reorders the rows");
        for (int rank = 0; rank < Ranks; rank++)
        {
            Pass expected = new([.. whole[rank].Batches.Skip(skipBatches)]);
            Assert.That(shared[rank].Batches.Select(batch => batch.Rows), Is.EqualTo(expected.Batches.Select(batch => batch.Rows)), $"rank {rank}'s rows");
            Assert.That(shared[rank].Batches.Select(batch => batch.Labels), Is.EqualTo(expected.Batches.Select(batch => batch.Labels)), $"rank {rank}'s labels");
            Assert.That(shared[rank].Batches.Select(batch => batch.Pixels), Is.EqualTo(expected.Batches.Select(batch => batch.Pixels)), $"rank {rank}'s pixels");
        }
    }

    [Test]
    public void ARankThatStopsAfterOneBatchHasFetchedNoMoreThanThePoolAndTheReadersAhead()
    {
        // The parallel cursors a pass reads, as many as ML.NET's own cursor asks for: the cores less one, at least 2.
        int cursors = Math.Max(2, Environment.ProcessorCount - 1), rows = Math.Max(2000, 400 * cursors);
        using var folder = new TemporaryDirectory();
        var pipeline = new CountingTextPipeline(folder.File("list.csv"), rows);
        var rank = new RankShardedBatchSource(pipeline.Source(), 0, Ranks);
        pipeline.Forget();

        using (LabelledBatch first = rank.ReadBatches(BatchSize, Seed, 0, false, CancellationToken.None).First())
        {
            Assert.That(first.Rows, Has.Count.EqualTo(BatchSize));
        }

        // When the first batch is taken, the reader holds it, the two read ahead and the one being filled:
        // global batches whose rows the pool draws from the file's first 4 × 32 + 50 rows, of which this
        // rank's wait for their turn; and each parallel cursor may have fetched 64 rows ahead of the merge,
        // with one in the merge's hand and one in its own.
        int readAhead = (4 * BatchSize * Ranks) + Pool + (cursors * (64 + 2));
        Assert.That(pipeline.Fetched, Has.Count.LessThanOrEqualTo(readAhead), "the pool's order is met without reading the file ahead");
        Assert.That(readAhead, Is.LessThan(rows / Ranks), "a bound under the rank's rows");
    }

    [Test]
    public void ACancelledPoolPassStopsItsFetching()
    {
        using var folder = new TemporaryDirectory();
        var pipeline = new CountingTextPipeline(folder.File("list.csv"));
        var rank = new RankShardedBatchSource(pipeline.Source(), 1, Ranks);
        using var cancel = new CancellationTokenSource();
        pipeline.Forget();

        Assert.Catch<OperationCanceledException>(() =>
        {
            foreach (LabelledBatch batch in rank.ReadBatches(BatchSize, Seed, 0, false, cancel.Token))
            {
                batch.Dispose();
                cancel.Cancel();
            }
        });
        int fetched = pipeline.Fetched.Count;
        Thread.Sleep(200);
        Assert.That(pipeline.Fetched, Has.Count.EqualTo(fetched), "no fetch after the pass ended");
        Assert.That(fetched, Is.LessThan(Rows / Ranks), "the pass stopped before its end");
    }

    private static Pass Read(RankShardedBatchSource rank, int skipBatches)
    {
        var read = new List<(float[], long[], long[])>();
        foreach (LabelledBatch batch in rank.ReadBatches(BatchSize, Seed, skipBatches, false, CancellationToken.None))
        {
            using (batch)
            {
                read.Add((batch.Images.data<float>().ToArray(), batch.Labels.data<long>().ToArray(), [.. batch.Rows]));
            }
        }

        return new Pass(read);
    }

    /// <summary>
    /// A list of <see cref="Rows"/> rows, or as many as asked for, in a CSV file, read as the tool reads its list, with a CustomMapping
    /// above it that makes each row's pixels from its number (row i's pixels are i + a hundredth per
    /// pixel), counting each row it maps and the threads it maps on: a stand-in for loading and decoding an image.
    /// </summary>
    private sealed class CountingTextPipeline
    {
        private readonly MLContext _ml = new(seed: 1);
        private readonly ConcurrentQueue<long> _fetched = new();
        private readonly IDataView _view;

        public CountingTextPipeline(string path, int rows = Rows)
        {
            File.WriteAllLines(path, ["number,label", .. Enumerable.Range(0, rows).Select(i => string.Create(CultureInfo.InvariantCulture, $"{i},{ClassNames[i % 3]}"))]);
            IDataView list = _ml.Data.CreateTextLoader(new TextLoader.Options
            {
                Separators = [','],
                HasHeader = true,
                AllowQuoting = true,
                ReadMultilines = true,
                Columns = [new TextLoader.Column("Number", DataKind.Single, 0), new TextLoader.Column("Label", DataKind.String, 1)],
            }).Load(path);
            IDataView keys = _ml.Data.LoadFromEnumerable(ClassNames.Select(name => new { Label = name }));
            IDataView keyed = _ml.Transforms.Conversion.MapValueToKey("Label", keyData: keys).Fit(list).Transform(list);
            _view = _ml.Transforms.CustomMapping<RowNumber, Pixels>(Map, contractName: null).Fit(keyed).Transform(keyed);
            Assert.That(_view.CanShuffle, Is.False, "a text file is read in its order only");
        }

        /// <summary>The rows whose pixels were made since the last <see cref="Forget"/>, once per making.</summary>
        public List<long> Fetched => [.. _fetched];

        /// <summary>The threads that made them.</summary>
        public ConcurrentDictionary<int, bool> Threads { get; } = new();

        public DataViewBatchSource Source() =>
            new(_view, "Label", "Features", new ImageFeatureLayout(1, Side), ClassNames.Length, _ml, Pool, null, "training", null, CancellationToken.None);

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
        }
    }

    /// <summary>The source as one that can only give whole batches: what every rank read before it could read a share.</summary>
    private sealed class WholeBatchesOnly(ILabelledBatchSource source) : ILabelledBatchSource
    {
        public long Count => source.Count;

        public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch, CancellationToken cancellationToken) =>
            source.ReadBatches(batchSize, shuffleSeed, skipBatches, dropLastBatch, cancellationToken);
    }
}
