using MLNet.BNInception.DataViews;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Tests;

/// <summary>Training streams the data view: a new shuffled cursor per epoch, read a few batches ahead of the network, never the whole set.</summary>
[Trains]
public class StreamingTests : SingleThreadedFixture
{
    [Test]
    public void EveryEpochOpensANewShuffledCursorAndReadsOnlyAFewBatchesAhead()
    {
        var ml = new MLContext(seed: 1);
        const int rows = 96, batch = 8;
        IDataView cached = ml.Data.Cache(PipelineData.KeyedView(ml, PipelineData.FashionRows("train", rows)));
        var recorded = new RecordingDataView(cached);
        var readAhead = new List<long>();
        var trainer = ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX30 with { Epochs = 3, BatchSize = batch, Augmentation = AugmentationOptions.None },
            // The rows read beyond the step's: the label pass's (all of them, before training) and those of the epochs' steps so far.
            OnStep = progress => readAhead.Add(recorded.RowsRead - rows - (((progress.Epoch - 1) * rows) + (progress.StepInEpoch * batch))),
        });
        using BnInceptionPredictionTransformer model = trainer.Fit(recorded);

        List<(bool Shuffled, List<ulong> Ids)> cursors = recorded.Cursors.Where(cursor => cursor.Ids.Count > 0).ToList();
        Assert.That(cursors, Has.Count.EqualTo(4), "a pass over the labels before training, then one cursor per epoch");
        Assert.That(cursors[0].Shuffled, Is.False);
        Assert.That(cursors[0].Ids, Is.EqualTo(Enumerable.Range(0, rows).Select(i => (ulong)i)), "every label checked, in order, before the first step");
        List<(bool Shuffled, List<ulong> Ids)> passes = cursors[1..];
        Assert.That(passes.All(pass => pass.Shuffled), Is.True, "every epoch asks for a random order");
        Assert.That(passes.Select(pass => pass.Ids.Order()), Is.All.EqualTo(Enumerable.Range(0, rows).Select(i => (ulong)i)), "every row once per epoch");
        Assert.That(passes.Select(pass => string.Join(",", pass.Ids)).Distinct().Count(), Is.EqualTo(3), "a new order every epoch");
        // The trainer reads two batches ahead of its step (the engine's BatchPrefetcher); behind it the
        // source's reader keeps two in its queue and builds one more.
        Assert.That(readAhead.Max(), Is.LessThanOrEqualTo(5 * batch),
            "at most the trainer's two batches ahead, the source's queue of two and the one being built are ahead of the network");
    }

    [Test]
    public void AViewThatCannotShuffleIsShuffledThroughMLNetsPool()
    {
        var ml = new MLContext(seed: 1);
        IDataView data = PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 32));
        Assert.That(data.CanShuffle, Is.False, "LoadFromEnumerable's view reads in order only");
        var orders = new List<List<long>>();
        var source = new DataViewBatchSource(data, "Label", "Features", new ImageFeatureLayout(1, 64), 10, ml, 1000, null, "training", null, CancellationToken.None);
        foreach (ulong seed in new ulong[] { 1, 2, 1 })
        {
            var order = new List<long>();
            foreach (LabelledBatch batchOfRows in source.ReadBatches(8, seed, 0, false, CancellationToken.None))
            {
                using (batchOfRows)
                {
                    order.AddRange(batchOfRows.Rows);
                }
            }

            orders.Add(order);
        }

        Assert.That(orders[0].Order(), Is.EqualTo(Enumerable.Range(0, 32).Select(i => (long)i)));
        Assert.That(orders[0], Is.Not.EqualTo(Enumerable.Range(0, 32).Select(i => (long)i)), "shuffled");
        Assert.That(orders[1], Is.Not.EqualTo(orders[0]), "another seed, another order");
        Assert.That(orders[2], Is.EqualTo(orders[0]), "the same seed, the same order: what resuming relies on");
    }

    [Test]
    public void RowsGroupedByLabelAreToldApartFromMixedOnes()
    {
        var ml = new MLContext(seed: 1);
        PipelineData.PixelRow[] rows = PipelineData.FashionRows("train", 60);
        DataViewBatchSource Source(IEnumerable<PipelineData.PixelRow> ordered, int pool) => new(PipelineData.KeyedView(ml, ordered), "Label", "Features",
            new ImageFeatureLayout(1, 64), 10, ml, pool, null, "training", null, CancellationToken.None);

        // The file's own order (about 9 changes of label in 10 neighbours), sorted by label (9 changes in 59),
        // and dealt out class by class (every neighbour differs): a random order of them changes label
        // between 0.9 and 0.8 of the time (1 − Σ pₖ²), and "grouped" is under half of that.
        List<PipelineData.PixelRow> sorted = [.. rows.OrderBy(row => row.Label, StringComparer.Ordinal)];
        List<PipelineData.PixelRow> dealt = [.. rows.GroupBy(row => row.Label).SelectMany(group => group.Select((row, i) => (row, i))).OrderBy(pair => pair.i).ThenBy(pair => pair.row.Label, StringComparer.Ordinal).Select(pair => pair.row)];
        Assert.That(Source(rows, 1000).GroupedByLabel, Is.False);
        Assert.That(Source(sorted, 1000).GroupedByLabel, Is.True);
        Assert.That(Source(dealt, 1000).GroupedByLabel, Is.False);
        Assert.That(Source(sorted, 1000).ShufflesInAPool, Is.False, "a pool of 1000 holds the 60 rows: a full shuffle");
        Assert.That(Source(sorted, 16).ShufflesInAPool, Is.True);
        Assert.That(new DataViewBatchSource(ml.Data.Cache(PipelineData.KeyedView(ml, sorted)), "Label", "Features", new ImageFeatureLayout(1, 64), 10, ml, 16,
            null, "training", null, CancellationToken.None).ShufflesInAPool, Is.False, "a cached view is read in any order");
    }

    [Test]
    public void TrainingOnRowsGroupedByLabelThroughAPoolSaysHowToShuffleThemWhole()
    {
        var ml = new MLContext(seed: 1);
        List<string> warnings = MLContextWarnings.Collect(ml);
        PipelineData.PixelRow[] sorted = [.. PipelineData.FashionRows("train", 48).OrderBy(row => row.Label, StringComparer.Ordinal)];
        BnInceptionMulticlassTrainer Trainer(int pool) => ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64,
            MLContext = ml,
            ShufflePoolSize = pool,
            Training = TrainerOptions.PaperBnX30 with { Epochs = 1, BatchSize = 8, Augmentation = AugmentationOptions.None },
        });

        using (Trainer(16).Fit(PipelineData.KeyedView(ml, sorted)))
        {
        }

        Assert.That(warnings, Has.One.EqualTo(
            "[Source=BnInception; Training, Kind=Warning] The 48 training rows come grouped by label, and the view cannot be read in any order: ML.NET's shuffle pool of 16 rows " +
            "mixes only rows near each other, so most batches hold few classes, which trains poorly. AppendCacheCheckpoint right after the text loader " +
            "(it holds the paths and labels, not the images) gives a full reshuffle every epoch; so does shuffling the list's lines once."));
        warnings.Clear();
        using (Trainer(16).Fit(ml.Data.Cache(PipelineData.KeyedView(ml, sorted))))
        {
        }

        Assert.That(warnings, Is.Empty, "a cached view is reshuffled whole");
    }
}
