using MLNet.BNInception.Data;
using MLNet.BNInception.Onnx;
using MLNet.BNInception.Trainers;
using MLNet.BNInception.Training;
using MLNet.BNInception.Transforms;

namespace MLNet.BNInception.Tests;

/// <summary>The BN-Inception pipeline step on small synthetic pixel vectors (the engine's own tests cover the training maths).</summary>
[NonParallelizable]
public sealed class TrainerStepTests
{
    private const int Side = 64;

    public sealed class PixelRow
    {
        public string Label { get; set; } = "";

        [VectorType(3, Side, Side)]
        public float[] Features { get; set; } = [];
    }

    public sealed class ScoredRow
    {
        public float[] Score { get; set; } = [];

        public string PredictedLabel { get; set; } = "";
    }

    /// <summary>Dark images (around −1) and bright ones (around +1), alternating, with noise.</summary>
    private static List<PixelRow> DarkAndBright(int count, int seed = 7)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(i => new PixelRow
        {
            Label = i % 2 == 0 ? "dark" : "bright",
            Features = [.. Enumerable.Range(0, 3 * Side * Side).Select(_ => (float)((i % 2 == 0 ? -1 : 1) + (0.3 * ((random.NextDouble() * 2) - 1))))],
        })];
    }

    private static BnInceptionMulticlassTrainer.Options SmallRun() => new()
    {
        Epochs = 2,
        BatchSize = 16,
        Augmentation = AugmentationOptions.None,
        Schedule = new ConstantSchedule(),
        LearningRate = 0.01,
        Seed = 3,
    };

    private static TransformerChain<KeyToValueMappingTransformer> Train(MLContext context, IDataView data, BnInceptionMulticlassTrainer.Options options) =>
        context.Transforms.Conversion.MapValueToKey("Label")
            .Append(context.MulticlassClassification.Trainers.BnInception(options))
            .Append(context.Transforms.Conversion.MapKeyToValue("PredictedLabel"))
            .Fit(data);

    [Test]
    public void ScoresAreProbabilitiesAndSurviveSaveLoadBatchingAndThePredictionEngine()
    {
        var context = new MLContext(seed: 1);
        List<PixelRow> rows = DarkAndBright(48);
        IDataView data = context.Data.LoadFromEnumerable(rows);
        using TransformerChain<KeyToValueMappingTransformer> model = Train(context, data, SmallRun());
        IDataView scored = model.Transform(data);
        Assert.That(scored.Schema["Score"].Type, Is.EqualTo(new VectorDataViewType(NumberDataViewType.Single, 2)));
        // Tensors earlier tests left to the finalizer would change the count while we score: finalize them first
        // (and only then, so a tensor scoring forgot to dispose still shows).
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long liveTensors = torch.LiveTensorCount;
        List<ScoredRow> predictions = [.. context.Data.CreateEnumerable<ScoredRow>(scored, reuseRowObject: false)];
        Assert.That(torch.LiveTensorCount, Is.EqualTo(liveTensors), "scoring leaves no native tensor behind");
        Assert.That(predictions, Has.Count.EqualTo(48));
        foreach (ScoredRow prediction in predictions)
        {
            Assert.That(prediction.Score.Sum(), Is.EqualTo(1).Within(1e-5));
            Assert.That(prediction.PredictedLabel, Is.EqualTo(prediction.Score[0] >= prediction.Score[1] ? "dark" : "bright"));
        }

        // The same model scored in batches of 5 instead of 64 gives the same probabilities.
        BnInceptionPredictionTransformer network = model.OfType<BnInceptionPredictionTransformer>().Single();
        Assert.That(network.ClassNames, Is.EqualTo(new[] { "dark", "bright" }));

        using var stream = new MemoryStream();
        context.Model.Save(model, data.Schema, stream);
        stream.Position = 0;
        var loaded = (TransformerChain<ITransformer>)context.Model.Load(stream, out DataViewSchema? inputSchema);
        using (loaded)
        {
            Assert.That(inputSchema!.Select(column => column.Name), Is.EqualTo(new[] { "Label", "Features" }));
            List<ScoredRow> reloaded = [.. context.Data.CreateEnumerable<ScoredRow>(loaded.Transform(data), reuseRowObject: false)];
            for (int i = 0; i < predictions.Count; i++)
            {
                Assert.That(reloaded[i].Score, Is.EqualTo(predictions[i].Score).Within(1e-6), $"row {i}");
                Assert.That(reloaded[i].PredictedLabel, Is.EqualTo(predictions[i].PredictedLabel));
            }
        }

        PredictionEngine<PixelRow, ScoredRow> engine = context.Model.CreatePredictionEngine<PixelRow, ScoredRow>(model);
        foreach (int i in new[] { 0, 17, 47 })
        {
            Assert.That(engine.Predict(rows[i]).Score, Is.EqualTo(predictions[i].Score).Within(1e-5), $"row {i}");
        }
    }

    [Test]
    public void ScoringNeedsNoLabelColumn()
    {
        var context = new MLContext(seed: 1);
        IDataView data = context.Data.LoadFromEnumerable(DarkAndBright(32));
        using TransformerChain<KeyToValueMappingTransformer> model = Train(context, data, SmallRun());
        IDataView unlabeled = context.Data.LoadFromEnumerable(DarkAndBright(3, seed: 9).Select(row => new FeaturesOnly { Features = row.Features }).ToList());
        List<ScoredRow> predictions = [.. context.Data.CreateEnumerable<ScoredRow>(model.Transform(unlabeled), reuseRowObject: false)];
        Assert.That(predictions.Select(prediction => prediction.PredictedLabel), Has.All.AnyOf("dark", "bright"));
    }

    public sealed class FeaturesOnly
    {
        [VectorType(3, Side, Side)]
        public float[] Features { get; set; } = [];
    }

    [Test]
    public void OnnxExportScoresTheSameInOpenCv()
    {
        var context = new MLContext(seed: 1);
        List<PixelRow> rows = DarkAndBright(32);
        IDataView data = context.Data.LoadFromEnumerable(rows);
        using TransformerChain<KeyToValueMappingTransformer> model = Train(context, data, SmallRun());
        using var folder = new TemporaryDirectory();
        string path = folder.File("model.onnx");
        using (FileStream stream = File.Create(path))
        {
            context.Model.ConvertToOnnx(model, data, stream);
        }

        List<ScoredRow> ours = [.. context.Data.CreateEnumerable<ScoredRow>(model.Transform(data), reuseRowObject: false).Take(4)];
        using OpenCvOnnxNet net = OpenCvOnnxNet.Load(path);
        using Tensor input = torch.tensor(rows.Take(4).SelectMany(row => row.Features).ToArray(), 4, 3, Side, Side);
        using Tensor theirs = net.Forward(input, OnnxExporter.ProbabilitiesOutput);
        float[] probabilities = theirs.ToArray<float>();
        for (int i = 0; i < 4; i++)
        {
            Assert.That(probabilities.AsSpan(i * 2, 2).ToArray(), Is.EqualTo(ours[i].Score).Within(1e-4), $"row {i}");
        }
    }

    [Test]
    public void SchemaProblemsAreReportedBeforeAnyRowIsRead()
    {
        var context = new MLContext(seed: 1);
        IDataView data = context.Data.LoadFromEnumerable(new ThrowingRows());
        ArgumentException notKey = Assert.Throws<ArgumentException>(() => context.MulticlassClassification.Trainers.BnInception(SmallRun()).Fit(data))!;
        Assert.That(notKey.Message, Does.Contain("'Label'").And.Contain("MapValueToKey"));

        var wrongColumn = SmallRun();
        wrongColumn.FeatureColumnName = "Pixels";
        ArgumentException missing = Assert.Throws<ArgumentException>(() => context.MulticlassClassification.Trainers.BnInception(wrongColumn).Fit(data))!;
        Assert.That(missing.Message, Does.Contain("'Pixels'").And.Contain("Features"));

        IDataView small = context.Data.LoadFromEnumerable(new List<SmallRow>());
        ArgumentException size = Assert.Throws<ArgumentException>(() => context.MulticlassClassification.Trainers.BnInception(SmallRun()).Fit(small))!;
        Assert.That(size.Message, Does.Contain("'Features'").And.Contain("3×60×60").And.Contain("multiple of 32"));
    }

    /// <summary>Rows whose enumeration fails: a schema check that read a row would surface this instead.</summary>
    private sealed class ThrowingRows : IEnumerable<PixelRow>
    {
        public IEnumerator<PixelRow> GetEnumerator() => throw new InvalidOperationException("a row was read");

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    public sealed class SmallRow
    {
        [KeyType(2)]
        public uint Label { get; set; }

        [VectorType(3, 60, 60)]
        public float[] Features { get; set; } = [];
    }

    [Test]
    public void DataProblemsAreClearErrors()
    {
        var context = new MLContext(seed: 1);
        List<PixelRow> rows = DarkAndBright(8);
        IDataView oneClass = context.Data.LoadFromEnumerable(rows.Where(row => row.Label == "dark").ToList());
        ArgumentException single = Assert.Throws<ArgumentException>(() => Train(context, oneClass, SmallRun()))!;
        Assert.That(single.Message, Does.Contain("single class").And.Contain("dark"));

        IDataView empty = context.Data.LoadFromEnumerable(new List<PixelRow>());
        InvalidDataException none = Assert.Throws<InvalidDataException>(() => context.Transforms.Conversion.MapValueToKey("Label", keyData: ["dark", "bright"])
            .Append(context.MulticlassClassification.Trainers.BnInception(SmallRun())).Fit(empty))!;
        Assert.That(none.Message, Does.Contain("no rows"));

        rows[3].Label = "";
        IDataView unlabeled = context.Data.LoadFromEnumerable(rows);
        InvalidDataException missing = Assert.Throws<InvalidDataException>(() => Train(context, unlabeled, SmallRun()))!;
        Assert.That(missing.Message, Does.Contain("row 3").And.Contain("missing"));

        rows[3].Label = "dark";
        rows[5].Features[100] = float.NaN;
        IDataView notFinite = context.Data.LoadFromEnumerable(rows);
        InvalidDataException nan = Assert.Throws<InvalidDataException>(() => Train(context, notFinite, SmallRun()))!;
        Assert.That(nan.Message, Does.Contain("row 5").And.Contain("NaN"));
    }

    [Test]
    public void AValidationSetIsScoredEveryEpoch()
    {
        var context = new MLContext(seed: 1);
        ValueToKeyMappingTransformer keys = context.Transforms.Conversion.MapValueToKey("Label").Fit(context.Data.LoadFromEnumerable(DarkAndBright(2)));
        IDataView train = keys.Transform(context.Data.LoadFromEnumerable(DarkAndBright(32)));
        IDataView validation = keys.Transform(context.Data.LoadFromEnumerable(DarkAndBright(8, seed: 11)));
        using BnInceptionPredictionTransformer model = context.MulticlassClassification.Trainers.BnInception(SmallRun()).Fit(train, validation);
        Assert.That(model.History, Has.Count.EqualTo(2));
        Assert.That(model.History.Select(epoch => epoch.ValidationLoss), Has.All.Not.Null);

        // A validation set keyed by another mapping (here: the other class first) is refused before training.
        IDataView otherKeys = context.Transforms.Conversion.MapValueToKey("Label", keyData: ["bright", "dark"])
            .Fit(context.Data.LoadFromEnumerable(DarkAndBright(8, seed: 11))).Transform(context.Data.LoadFromEnumerable(DarkAndBright(8, seed: 11)));
        ArgumentException mismatch = Assert.Throws<ArgumentException>(() => context.MulticlassClassification.Trainers.BnInception(SmallRun()).Fit(train, otherKeys))!;
        Assert.That(mismatch.Message, Does.Contain("keys differ"));
    }

    [Test]
    public void ACancelledRunResumesFromItsCheckpoint()
    {
        var context = new MLContext(seed: 1);
        IDataView data = context.Data.LoadFromEnumerable(DarkAndBright(32));
        using var folder = new TemporaryDirectory();
        BnInceptionMulticlassTrainer.Options options = SmallRun();
        options.CheckpointPath = folder.File("run.ckpt");
        options.ResumeFromCheckpoint = true;
        options.OnStep = progress =>
        {
            if (progress.Step == 3)
            {
                context.CancelExecution();
            }
        };
        Assert.Throws<OperationCanceledException>(() => Train(context, data, options));
        Assert.That(File.Exists(options.CheckpointPath), Is.True);

        var steps = new List<long>();
        options.OnStep = progress => steps.Add(progress.Step);
        using TransformerChain<KeyToValueMappingTransformer> model = Train(context, data, options);
        // 32 rows in batches of 16 for 2 epochs is 4 steps; the resumed run does the one left.
        Assert.That(steps, Is.EqualTo(new long[] { 4 }));
    }

    [Test]
    public void CancelExecutionStopsTrainingWithinABatch()
    {
        var context = new MLContext(seed: 1);
        IDataView data = context.Data.LoadFromEnumerable(DarkAndBright(64));
        int steps = 0;
        BnInceptionMulticlassTrainer.Options options = SmallRun();
        options.OnStep = _ =>
        {
            steps++;
            context.CancelExecution();
        };
        Assert.Throws<OperationCanceledException>(() => Train(context, data, options));
        Assert.That(steps, Is.EqualTo(1));
    }
}
