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

    [Test]
    public void AViewThatCannotShuffleStillHasEveryRowFetchedByEveryRanksPoolButGivesTheSameBatches()
    {
        var ml = new MLContext(seed: 1);
        var view = new FetchCountingDataView(Keyed(ml, Rows(22)));
        Assert.That(view.CanShuffle, Is.False);
        DataViewBatchSource source = Source(ml, view, split: null);

        Pass[] sliced = [.. Enumerable.Range(0, Ranks).Select(rank => Read(new RankShardedBatchSource(new WholeBatchesOnly(source), rank, Ranks), 5, 0, false))];
        view.Forget();
        Pass[] shared = [.. Enumerable.Range(0, Ranks).Select(rank => Read(new RankShardedBatchSource(source, rank, Ranks), 5, 0, false))];

        for (int rank = 0; rank < Ranks; rank++)
        {
            AssertSamePass(shared[rank], sliced[rank], $"rank {rank}");
        }

        // ML.NET's ShuffleRows fills its pool with every row's values, whichever rows the reader then asks for.
        Assert.That(view.Fetched("Features").Order().ToArray(), Is.EqualTo(Enumerable.Range(0, 22).SelectMany(row => new[] { (ulong)row, (ulong)row }).ToArray()));
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

    private static DataViewBatchSource Source(MLContext ml, IDataView view, RowSplit? split) =>
        new(view, "Label", "Features", new ImageFeatureLayout(1, Side), ClassNames.Length, ml, 1000, split, "training", null, CancellationToken.None);

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
