using MLNet.BNInception.DataViews;
using MLNet.BNInception.Engine.Distributed;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Tests;

/// <summary>
/// The ranks of a data-parallel run reading an ML.NET view (docs/distributed.md, "Reading the data"):
/// each rank fetches the labels and pixels of its own share of every global batch only, so that each
/// row is decoded once per pass over all ranks, and gets the batches that slicing whole global
/// batches gives. Both ranks of 2 are read in this one process, without MPI.
/// </summary>
public class ShardedReadingTests : SingleThreadedFixture
{
    private const int Ranks = 2, Side = 8;
    private const ulong PoolSeed = 5;

    private static readonly string[] ClassNames = ["circle", "square", "stripe"];

    private sealed class Row
    {
        [VectorType(1, Side, Side)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";
    }

    /// <summary>One rank's pass: each batch's pixels, labels and rows, and the hash of the global batches' rows.</summary>
    private sealed record Pass(List<(float[] Pixels, long[] Labels, long[] Rows)> Batches, long RowsHash);

    // 22 rows, 4 per rank: global batches of 8, 8 and a short 6 (3 and 3); 23 rows end in 7 (3 and 4).
    [TestCase(22, 0, false, false, true)]
    [TestCase(23, 1, false, false, true)]
    [TestCase(23, 1, false, false, false)]
    [TestCase(22, 1, true, false, true)]
    [TestCase(40, 1, false, true, true)]
    [TestCase(40, 0, true, true, false)]
    public void EachRankFetchesItsShareOnlyAndGetsTheSlicesOfTheGlobalBatches(int rows, int skipBatches, bool dropLastBatch, bool split, bool shuffled)
    {
        var ml = new MLContext(seed: 1);
        // The cache makes the view one that can shuffle, and is below the counting: its filling is not counted.
        var view = new FetchCountingDataView(ml.Data.Cache(Keyed(ml, Rows(rows))));
        Assert.That(view.CanShuffle, Is.True);
        DataViewBatchSource source = Source(ml, view, split ? new RowSplit(Seed: 3, Fraction: 0.25, HeldOut: false) : null);
        ulong? seed = shuffled ? 5UL : null;

        Pass[] sliced = [.. Enumerable.Range(0, Ranks).Select(rank => Read(new RankShardedBatchSource(new WholeBatchesOnly(source), rank, Ranks), seed, skipBatches, dropLastBatch))];
        view.Forget();
        Pass[] shared = [.. Enumerable.Range(0, Ranks).Select(rank => Read(new RankShardedBatchSource(source, rank, Ranks), seed, skipBatches, dropLastBatch))];

        List<long> passRows = [.. sliced.SelectMany(pass => pass.Batches.SelectMany(batch => batch.Rows))];
        Assert.That(passRows, Is.Unique.And.Not.Empty);
        Assert.That(passRows.Count, Is.EqualTo(ExpectedRows(source.Count, skipBatches, dropLastBatch)), "the rows of the pass's global batches after the skipped ones");
        ulong[] eachRowOnce = [.. passRows.Order().Select(row => (ulong)row)];
        Assert.That(view.Fetched("Features").Order().ToArray(), Is.EqualTo(eachRowOnce),
            "each row's pixels fetched once over both ranks, and none of a skipped, dropped or held-out row");
        Assert.That(view.Fetched("Label").Order().ToArray(), Is.EqualTo(eachRowOnce), "and its label");
        for (int rank = 0; rank < Ranks; rank++)
        {
            AssertSamePass(shared[rank], sliced[rank], $"rank {rank}");
        }

        Assert.That(shared[1].RowsHash, Is.EqualTo(shared[0].RowsHash), "every rank hashes every row of the global batches");
    }

    // A view that cannot shuffle is shuffled through ML.NET's pool (ShuffleRows): each rank reads the pool's
    // order from the rows' ids alone, then fetches its rows in the view's own order. A pool of 5 or 2 rows
    // mixes only rows near each other, so the rows wait for their turn; one of 1000 holds every row.
    [TestCase(22, 5, 0, false, false)]
    [TestCase(23, 5, 1, false, false)]
    [TestCase(22, 5, 1, true, false)]
    [TestCase(40, 5, 0, false, true)]
    [TestCase(40, 2, 1, true, true)]
    [TestCase(22, 1000, 0, false, false)]
    [TestCase(40, 1000, 1, true, true)]
    public void AViewThatCannotShuffleHasEachRowFetchedOnceOverTheRanksAndGivesTheBatchesOfMLNetsPool(int rows, int pool, int skipBatches,
        bool dropLastBatch, bool split)
    {
        var ml = new MLContext(seed: 1);
        var view = new FetchCountingDataView(Keyed(ml, Rows(rows)));
        Assert.That(view.CanShuffle, Is.False);
        RowSplit? rowSplit = split ? new RowSplit(Seed: 3, Fraction: 0.25, HeldOut: false) : null;
        DataViewBatchSource source = Source(ml, view, rowSplit, pool);

        Pass[] expected = [.. Enumerable.Range(0, Ranks).Select(rank => ThroughMLNetsPool(ml, view, pool, rowSplit, rank, skipBatches, dropLastBatch))];
        Pass[] sliced = [.. Enumerable.Range(0, Ranks).Select(rank => Read(new RankShardedBatchSource(new WholeBatchesOnly(source), rank, Ranks), PoolSeed, skipBatches, dropLastBatch))];
        view.Forget();
        Pass[] shared = [.. Enumerable.Range(0, Ranks).Select(rank => Read(new RankShardedBatchSource(source, rank, Ranks), PoolSeed, skipBatches, dropLastBatch))];

        List<long> passRows = [.. expected.SelectMany(pass => pass.Batches.SelectMany(batch => batch.Rows))];
        Assert.That(passRows, Is.Unique.And.Not.Empty);
        Assert.That(passRows.Count, Is.EqualTo(ExpectedRows(source.Count, skipBatches, dropLastBatch)), "the rows of the pass's global batches after the skipped ones");
        Assert.That(passRows, Is.Not.Ordered, "the pool reorders the rows");
        ulong[] eachRowOnce = [.. passRows.Order().Select(row => (ulong)row)];
        Assert.That(view.Fetched("Features").Order().ToArray(), Is.EqualTo(eachRowOnce),
            "each row's pixels fetched once over both ranks, and none of a skipped, dropped or held-out row");
        Assert.That(view.Fetched("Label").Order().ToArray(), Is.EqualTo(eachRowOnce), "and its label");
        for (int rank = 0; rank < Ranks; rank++)
        {
            AssertSamePass(shared[rank], expected[rank], $"rank {rank}");
            AssertSamePass(sliced[rank], expected[rank], $"rank {rank} of whole batches");
        }
    }

    [Test]
    public void APoolPassWhoseRowsComeInAnotherOrderWhenFetchedIsRefusedBeforeHoldingMoreThanThePool()
    {
        var ml = new MLContext(seed: 1);
        const int rows = 22, pool = 5;
        // The rows read with a column numbered backwards: to a reader of the ids alone, the view's order changed between the passes.
        var view = new IdsChangedWhenValuesAreRead(Keyed(ml, Rows(rows)), id => rows - 1 - id);
        long first = ThroughMLNetsPool(ml, Keyed(ml, Rows(rows)), pool, null, 0, 0, false).Batches[0].Rows[0];

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => Read(new RankShardedBatchSource(Source(ml, view, null, pool), 0, Ranks), PoolSeed, 0, false))!;
        Assert.That(error.Message, Does.StartWith($"The training data's pass through ML.NET's shuffle pool gave row {first} at row 0 of this pass's batches, reading the rows' ids alone, but reading the view in its own order to fetch the values has given 6 of the pass's rows that are due later and not it, where ML.NET's pool of 5 rows gives each row within 5 rows of reading it"));
    }

    [Test]
    public void APoolPassWhoseFetchEndsWithoutARowOfItsPlanNamesTheRow()
    {
        var ml = new MLContext(seed: 1);
        const int rows = 22, pool = 1000;
        long first = ThroughMLNetsPool(ml, Keyed(ml, Rows(rows)), pool, null, 0, 0, false).Batches[0].Rows[0];
        var view = new IdsChangedWhenValuesAreRead(Keyed(ml, Rows(rows)), id => id == (ulong)first ? 1000 : id);

        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => Read(new RankShardedBatchSource(Source(ml, view, null, pool), 0, Ranks), PoolSeed, 0, false))!;
        Assert.That(error.Message, Does.StartWith($"The training data's pass through ML.NET's shuffle pool gave row {first} at row 0 of this pass's batches, reading the rows' ids alone, but reading the view in its own order to fetch the values ended without it"));
    }

    [Test]
    public void ABadRowOfAPoolPassFailsTheRankWhoseShareHoldsItAndNamesTheRow()
    {
        var ml = new MLContext(seed: 1);
        const int pool = 5;
        Row[] rows = Rows(16);
        // Rank 1's first row in the pool's order: the second half of the first global batch.
        long bad = ThroughMLNetsPool(ml, Keyed(ml, rows), pool, null, 1, 0, false).Batches[0].Rows[0];
        rows[bad].Features[9] = float.NaN;
        DataViewBatchSource source = Source(ml, Keyed(ml, rows), split: null, pool);

        Assert.That(Read(new RankShardedBatchSource(source, 0, Ranks), PoolSeed, 0, false).Batches, Has.Count.EqualTo(2), "rank 0 never reads the bad row's pixels");
        InvalidDataException error = Assert.Throws<InvalidDataException>(() => Read(new RankShardedBatchSource(source, 1, Ranks), PoolSeed, 0, false))!;
        Assert.That(error.Message, Is.EqualTo($"Row {bad} of the training data (0-based, in the source's order) has a non-finite pixel: Features[9] is NaN."));
    }

    [Test]
    public void ARowsCheckFailsOnTheRankWhoseShareHoldsItAndNamesTheRow()
    {
        var ml = new MLContext(seed: 1);
        Row[] rows = Rows(16);
        rows[5].Features[9] = float.NaN;
        DataViewBatchSource source = Source(ml, ml.Data.Cache(Keyed(ml, rows)), split: null);

        // In order, the first global batch of 8 is rows 0-3 for rank 0 and rows 4-7 for rank 1.
        Assert.That(Read(new RankShardedBatchSource(source, 0, Ranks), null, 0, false).Batches, Has.Count.EqualTo(2), "rank 0 never reads row 5's pixels");
        InvalidDataException error = Assert.Throws<InvalidDataException>(() => Read(new RankShardedBatchSource(source, 1, Ranks), null, 0, false))!;
        Assert.That(error.Message, Is.EqualTo("Row 5 of the training data (0-based, in the source's order) has a non-finite pixel: Features[9] is NaN."));
    }

    [Test]
    public void APassWithFewerRowsThanCountedFailsBecauseTheSharesWereCutByTheCount()
    {
        var ml = new MLContext(seed: 1);
        // LoadFromEnumerable's view reads the list again in every pass.
        List<Row> rows = [.. Rows(22)];
        DataViewBatchSource source = Source(ml, Keyed(ml, rows), split: null);
        rows.RemoveAt(21);

        InvalidDataException error = Assert.Throws<InvalidDataException>(() => Read(new RankShardedBatchSource(source, 0, Ranks), 5, 0, false))!;
        Assert.That(error.Message, Does.StartWith("The training data gave 21 rows in this pass, not the 22 it had when counted before training"));
    }

    private static DataViewBatchSource Source(MLContext ml, IDataView view, RowSplit? split, int shufflePool = 1000) =>
        new(view, "Label", "Features", new ImageFeatureLayout(1, Side), ClassNames.Length, ml, shufflePool, split, "training", null, CancellationToken.None);

    private static IDataView Keyed(MLContext ml, IEnumerable<Row> rows)
    {
        IDataView view = ml.Data.LoadFromEnumerable(rows);
        IDataView keys = ml.Data.LoadFromEnumerable(ClassNames.Select(name => new { Label = name }));
        return ml.Transforms.Conversion.MapValueToKey("Label", keyData: keys).Fit(view).Transform(view);
    }

    // Every pixel of row i tells the row (i) and the pixel (a hundredth each).
    private static Row[] Rows(int count) => [.. Enumerable.Range(0, count).Select(i => new Row
    {
        Features = [.. Enumerable.Range(0, Side * Side).Select(pixel => i + (pixel / 100f))],
        Label = ClassNames[i % ClassNames.Length],
    })];

    private static long ExpectedRows(long count, int skipBatches, bool dropLastBatch)
    {
        const int global = 4 * Ranks;
        long end = dropLastBatch ? count - (count % global) : count;
        return end - Math.Min(end, (long)skipBatches * global);
    }

    private static Pass Read(RankShardedBatchSource rank, ulong? seed, int skipBatches, bool dropLastBatch)
    {
        var batches = new List<(float[], long[], long[])>();
        foreach (LabelledBatch batch in rank.ReadBatches(4, seed, skipBatches, dropLastBatch, CancellationToken.None))
        {
            using (batch)
            {
                batches.Add((batch.Images.data<float>().ToArray(), batch.Labels.data<long>().ToArray(), [.. batch.Rows]));
            }
        }

        return new Pass(batches, rank.RowsHashOfLastPass);
    }

    /// <summary>
    /// Rank <paramref name="rank"/>'s pass as ML.NET's pool gives it with every column read, as every rank
    /// read it before (the rows the split keeps, after the skipped global batches, the rank's slice of
    /// each): <see cref="PoolSeed"/> is the pool's seed too, the batch source's 32 bits of a seed under 2³².
    /// </summary>
    private static Pass ThroughMLNetsPool(MLContext ml, IDataView view, int pool, RowSplit? split, int rank, int skipBatches, bool dropLastBatch)
    {
        IDataView shuffled = ml.Data.ShuffleRows(view, (int)PoolSeed, pool, shuffleSource: false);
        var rows = new List<(long Row, long Label, float[] Pixels)>();
        using (DataViewRowCursor cursor = shuffled.GetRowCursor(shuffled.Schema))
        {
            ValueGetter<DataViewRowId> getId = cursor.GetIdGetter();
            ValueGetter<uint> getLabel = cursor.GetGetter<uint>(shuffled.Schema["Label"]);
            ValueGetter<VBuffer<float>> getPixels = cursor.GetGetter<VBuffer<float>>(shuffled.Schema["Features"]);
            DataViewRowId id = default;
            uint label = 0;
            VBuffer<float> pixels = default;
            while (cursor.MoveNext())
            {
                getId(ref id);
                if (split is null || split.Keeps(id))
                {
                    getLabel(ref label);
                    getPixels(ref pixels);
                    rows.Add(((long)id.Low, label - 1, pixels.DenseValues().ToArray()));
                }
            }
        }

        const int global = 4 * Ranks;
        var batches = new List<(float[], long[], long[])>();
        ulong rowsHash = Fnv1a.Empty;
        foreach ((long Row, long Label, float[] Pixels)[] batch in rows.Skip(skipBatches * global).Chunk(global).Where(batch => !dropLastBatch || batch.Length == global))
        {
            rowsHash = batch.Aggregate(rowsHash, (hash, row) => Fnv1a.Add(hash, (ulong)row.Row));
            (int start, int count) = RankShardedBatchSource.Share(batch.Length, rank, Ranks);
            var slice = batch.Skip(start).Take(count).ToArray();
            batches.Add(([.. slice.SelectMany(row => row.Pixels)], [.. slice.Select(row => row.Label)], [.. slice.Select(row => row.Row)]));
        }

        return new Pass(batches, unchecked((long)rowsHash));
    }

    private static void AssertSamePass(Pass actual, Pass expected, string what)
    {
        Assert.That(actual.Batches.Select(batch => batch.Rows), Is.EqualTo(expected.Batches.Select(batch => batch.Rows)), $"{what}'s rows");
        Assert.That(actual.Batches.Select(batch => batch.Labels), Is.EqualTo(expected.Batches.Select(batch => batch.Labels)), $"{what}'s labels");
        Assert.That(actual.Batches.Select(batch => batch.Pixels), Is.EqualTo(expected.Batches.Select(batch => batch.Pixels)), $"{what}'s pixels");
        Assert.That(actual.RowsHash, Is.EqualTo(expected.RowsHash), $"{what}'s hash of the global batches' rows");
    }

    /// <summary>The source as one that can only give whole batches: what every rank read before it could read a share.</summary>
    private sealed class WholeBatchesOnly(ILabelledBatchSource source) : ILabelledBatchSource
    {
        public long Count => source.Count;

        public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch, CancellationToken cancellationToken) =>
            source.ReadBatches(batchSize, shuffleSeed, skipBatches, dropLastBatch, cancellationToken);
    }
}
