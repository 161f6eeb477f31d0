using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Tests;

/// <summary>Cancelling a pipeline's training and resuming it from the checkpoint ends where an uninterrupted run ends.</summary>
[Trains]
public class ResumeTests : SingleThreadedFixture
{
    [TestCase(TrainingPrecision.Float32)]
    [TestCase(TrainingPrecision.BFloat16Mixed)]
    public void ACancelledFitResumedFromItsCheckpointEndsWithTheSameWeights(TrainingPrecision precision)
    {
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Log += (_, message) => log.Add(message.Message);
        IDataView data = PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 40));
        using var folder = new TemporaryDirectory();
        BnInceptionMulticlassTrainer.Options Options(string? checkpoint, CancellationToken token = default, Action<TrainingProgress>? onStep = null) => new()
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX5 with { Epochs = 2, BatchSize = 8, Seed = 5, CheckpointPath = checkpoint },
            ResumeFromCheckpoint = true,
            Precision = precision,
            MLContext = ml,
            CancellationToken = token,
            OnStep = onStep,
        };

        using BnInceptionPredictionTransformer straight = ml.MulticlassClassification.Trainers.BnInception(Options(null)).Fit(data);

        string checkpoint = folder.File("run.ckpt");
        using var cancellation = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => ml.MulticlassClassification.Trainers
            .BnInception(Options(checkpoint, cancellation.Token, p => { if (p.Step == 7) cancellation.Cancel(); })).Fit(data));
        int resumedSteps = 0;
        using BnInceptionPredictionTransformer resumed = ml.MulticlassClassification.Trainers
            .BnInception(Options(checkpoint, onStep: _ => resumedSteps++)).Fit(data);

        Assert.That(resumedSteps, Is.EqualTo(3), "the resumed run did the 3 remaining of 2 epochs × 5 steps");
        Assert.That(log, Has.Some.Contains(precision == TrainingPrecision.Float32 ? ", float32;" : ", mixed bfloat16;"), "the run trained in the precision the options asked for");

        foreach ((string key, TorchSharp.torch.Tensor value) in straight.Model.state_dict())
        {
            Assert.That(TestTensors.SameBytes(resumed.Model.state_dict()[key], value), Is.True, key);
        }
    }

    // 25 rows in batches of 8 leave a last batch of one image, which the ML.NET trainer leaves out: three steps an epoch.
    // Stopped inside the second epoch, the run resumes on its checkpoint's options, which drop the lone image whatever
    // the options given say: resumed through the ML.NET API it says so again; resumed as the tool resumes
    // (RefuseLastBatchOfOne), it says nothing, where before it was warned in words for the ML.NET API ("Set
    // Training.DropLastBatch"); both end with an uninterrupted run's weights.
    [Test]
    public void ARunThatLeavesOutALoneLastImageResumesLeavingItOutAndEndsWithTheSameWeights()
    {
        var ml = new MLContext(seed: 1);
        List<string> warnings = MLContextWarnings.Collect(ml);
        IDataView data = PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 25));
        using var folder = new TemporaryDirectory();
        BnInceptionMulticlassTrainer.Options Options(string? checkpoint, CancellationToken token = default, Action<TrainingProgress>? onStep = null,
            bool asTheTool = false) => new()
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX5 with { Epochs = 2, BatchSize = 8, Seed = 5, CheckpointPath = checkpoint },
            ResumeFromCheckpoint = true,
            RefuseLastBatchOfOne = asTheTool,
            MLContext = ml,
            CancellationToken = token,
            OnStep = onStep,
        };
        string[] LoneImageWarnings()
        {
            string[] said = warnings.Where(warning => warning.Contains("leave a last batch of 1 image", StringComparison.Ordinal)).ToArray();
            warnings.Clear();
            return said;
        }

        const string Said = "] 25 training rows in batches of 8 leave a last batch of 1 image, which batch normalization cannot train on: each epoch leaves out " +
            "the one image its shuffled order puts last (drawn anew each epoch, so it may repeat) and trains on 24 of the 25 rows. Set Training.DropLastBatch";
        using BnInceptionPredictionTransformer straight = ml.MulticlassClassification.Trainers.BnInception(Options(null)).Fit(data);
        Assert.That(LoneImageWarnings(), Has.One.Contains(Said), "the case under test: the lone image left out");

        string checkpoint = folder.File("run.ckpt");
        using (var cancellation = new CancellationTokenSource())
        {
            Assert.Throws<OperationCanceledException>(() => ml.MulticlassClassification.Trainers
                .BnInception(Options(checkpoint, cancellation.Token, p => { if (p.Step == 4) cancellation.Cancel(); })).Fit(data));
        }

        Assert.That(LoneImageWarnings(), Has.One.Contains(Said));
        string toolCheckpoint = folder.File("tool.ckpt");
        File.Copy(checkpoint, toolCheckpoint);

        var steps = new List<(int Epoch, int StepInEpoch, int StepsPerEpoch)>();
        using BnInceptionPredictionTransformer resumed = ml.MulticlassClassification.Trainers
            .BnInception(Options(checkpoint, onStep: p => steps.Add((p.Epoch, p.StepInEpoch, p.StepsPerEpoch)))).Fit(data);
        Assert.That(LoneImageWarnings(), Has.One.Contains(Said), "the resumed run says so again");
        Assert.That(steps, Is.EqualTo(new[] { (2, 2, 3), (2, 3, 3) }), "the 2 remaining steps of 2 epochs × 3: the lone image still left out");

        steps.Clear();
        using BnInceptionPredictionTransformer resumedAsTheTool = ml.MulticlassClassification.Trainers
            .BnInception(Options(toolCheckpoint, onStep: p => steps.Add((p.Epoch, p.StepInEpoch, p.StepsPerEpoch)), asTheTool: true)).Fit(data);
        Assert.That(LoneImageWarnings(), Is.Empty, "the tool's resume keeps the checkpoint's recipe without the ML.NET API's warning");
        Assert.That(steps, Is.EqualTo(new[] { (2, 2, 3), (2, 3, 3) }), "and leaves the lone image out all the same");

        foreach ((string key, TorchSharp.torch.Tensor value) in straight.Model.state_dict())
        {
            Assert.That(TestTensors.SameBytes(resumed.Model.state_dict()[key], value), Is.True, key);
            Assert.That(TestTensors.SameBytes(resumedAsTheTool.Model.state_dict()[key], value), Is.True, $"{key}, resumed as the tool resumes");
        }
    }

    [Test]
    public void ACheckpointOfAnotherNetworkIsRefusedBeforeTraining()
    {
        var ml = new MLContext(seed: 1);
        using var folder = new TemporaryDirectory();
        string checkpoint = folder.File("run.ckpt");
        var options = new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX5 with { Epochs = 1, BatchSize = 8, CheckpointPath = checkpoint },
            ResumeFromCheckpoint = true,
        };
        using (ml.MulticlassClassification.Trainers.BnInception(options).Fit(PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 16))))
        {
        }

        // The same checkpoint path, data of three classes only.
        PipelineData.PixelRow[] three = PipelineData.FashionRows("train", 60).Where(row => row.Label is "Trouser" or "Bag" or "Coat").ToArray();
        IDataView other = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(three)).Transform(ml.Data.LoadFromEnumerable(three));
        var error = Assert.Throws<CheckpointMismatchException>(() => ml.MulticlassClassification.Trainers.BnInception(options).Fit(other));
        Assert.That(error!.Message, Does.Contain("run.ckpt is a run of a network for 10 classes").And.Contain("this data has 3 classes")
            .And.Contain("Delete the checkpoint or choose another path"));
    }

    [Test]
    public void ACheckpointOfOtherDataIsRefusedNamingWhatDiffers()
    {
        var ml = new MLContext(seed: 1);
        using var folder = new TemporaryDirectory();
        string checkpoint = folder.File("run.ckpt");
        BnInceptionMulticlassTrainer.Options Options(double validationFraction = 0, int epochs = 1) => new()
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX5 with { Epochs = epochs, BatchSize = 8, CheckpointPath = checkpoint, ValidationFraction = validationFraction },
            ResumeFromCheckpoint = true,
            MLContext = ml,
        };
        PipelineData.PixelRow[] rows = PipelineData.FashionRows("train", 16);
        using (ml.MulticlassClassification.Trainers.BnInception(Options()).Fit(PipelineData.KeyedView(ml, rows)))
        {
        }

        byte[] written = File.ReadAllBytes(checkpoint);

        // The same ten classes keyed in the opposite order: each output would come to mean another class.
        IDataView view = ml.Data.LoadFromEnumerable(rows);
        IDataView reversedKeys = ml.Data.LoadFromEnumerable(PipelineData.ClassNames.Reverse().Select(name => new { Label = name }));
        IDataView reordered = ml.Transforms.Conversion.MapValueToKey("Label", keyData: reversedKeys).Fit(view).Transform(view);
        var error = Assert.Throws<CheckpointMismatchException>(() => ml.MulticlassClassification.Trainers.BnInception(Options(epochs: 2)).Fit(reordered))!;
        Assert.That(error.Message, Does.Contain("run.ckpt is a run on other data: its classes were, in the order of their indices, " +
            $"'{PipelineData.ClassNames[0]}', '{PipelineData.ClassNames[1]}'").And.Contain($"this data's are '{PipelineData.ClassNames[^1]}', "));

        // Another validation split of the same rows.
        error = Assert.Throws<CheckpointMismatchException>(() =>
            ml.MulticlassClassification.Trainers.BnInception(Options(validationFraction: 0.25, epochs: 2)).Fit(PipelineData.KeyedView(ml, rows)))!;
        Assert.That(error.Message, Does.Contain("it validated on no validation data, this run would validate on a ValidationFraction of 0.25 of the training rows held out with Seed 0"));

        // Other rows of the same classes, in the same order.
        error = Assert.Throws<CheckpointMismatchException>(() =>
            ml.MulticlassClassification.Trainers.BnInception(Options(epochs: 2)).Fit(PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 24))))!;
        Assert.That(error.Message, Does.Contain("it trained on 16 rows, this data has 24"));
        Assert.That(File.ReadAllBytes(checkpoint).AsSpan().SequenceEqual(written), Is.True, "a refused resume leaves the checkpoint as it was");

        // The same data resumes; the run had finished its one epoch, which the log says.
        List<string> warnings = MLContextWarnings.Collect(ml);
        using (ml.MulticlassClassification.Trainers.BnInception(Options(epochs: 2)).Fit(PipelineData.KeyedView(ml, rows)))
        {
        }

        Assert.That(warnings, Has.Some.Contains("had ended (its 1 epoch trained, or stopped early): nothing more is trained"));
    }

    [Test]
    public void ACheckpointThatRecordsNoDataResumesWithAWarningAndRecordsTheRowsItGoesOnWith()
    {
        var ml = new MLContext(seed: 1);
        List<string> warnings = MLContextWarnings.Collect(ml);
        using var folder = new TemporaryDirectory();
        string checkpoint = folder.File("run.ckpt");
        BnInceptionMulticlassTrainer.Options Options(CancellationToken token = default, Action<TrainingProgress>? onStep = null, bool dropLastBatch = false) => new()
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX5 with { Epochs = 2, BatchSize = 8, CheckpointPath = checkpoint, DropLastBatch = dropLastBatch },
            ResumeFromCheckpoint = true,
            MLContext = ml,
            CancellationToken = token,
            OnStep = onStep,
        };
        PipelineData.PixelRow[] rows = PipelineData.FashionRows("train", 16);
        using (var cancellation = new CancellationTokenSource())
        {
            // 16 rows in batches of 8: stopped inside the second epoch.
            Assert.Throws<OperationCanceledException>(() => ml.MulticlassClassification.Trainers
                .BnInception(Options(cancellation.Token, progress => { if (progress.Step == 3) cancellation.Cancel(); })).Fit(PipelineData.KeyedView(ml, rows)));
        }

        // As the checkpoints of versions before the record of the data were written.
        Assert.That(EditDescription(checkpoint, description => description.Remove("Data")), Is.True, "the record held the data");

        // Rows that leave a last batch of one image, which that version refused: its checkpoint's DropLastBatch is false, so
        // it was started on other rows, and a resume runs on the checkpoint's options, whatever these say (docs/walkthrough.md, section 3).
        byte[] unrecorded = File.ReadAllBytes(checkpoint);
        foreach (bool dropLastBatch in new[] { false, true })
        {
            var refused = Assert.Throws<BatchSizeMismatchException>(() => ml.MulticlassClassification.Trainers.BnInception(Options(dropLastBatch: dropLastBatch))
                .Fit(PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 17))))!;
            Assert.That(refused.Message, Does.StartWith("17 training images in batches of 8 leave a last batch of 1 image"), $"DropLastBatch {dropLastBatch}");
        }

        Assert.That(File.ReadAllBytes(checkpoint).AsSpan().SequenceEqual(unrecorded), Is.True, "a refused resume leaves the checkpoint as it was");
        Assert.That(warnings.Where(warning => warning.Contains("leave a last batch of 1 image", StringComparison.Ordinal)), Is.Empty, "no lone image was left out");
        warnings.Clear();

        // Keyed in the opposite order, which a checkpoint that records its data refuses (ACheckpointOfOtherDataIsRefusedNamingWhatDiffers).
        IDataView view = ml.Data.LoadFromEnumerable(rows);
        IDataView reversedKeys = ml.Data.LoadFromEnumerable(PipelineData.ClassNames.Reverse().Select(name => new { Label = name }));
        IDataView reordered = ml.Transforms.Conversion.MapValueToKey("Label", keyData: reversedKeys).Fit(view).Transform(view);
        using (ml.MulticlassClassification.Trainers.BnInception(Options()).Fit(reordered))
        {
        }

        Assert.That(warnings, Has.One.Contains($"the checkpoint {checkpoint} records no data (an earlier version, or the engine's BnInceptionTrainer, wrote it), so this resume cannot be checked against these rows"));
        JsonNode? recorded = null;
        EditDescription(checkpoint, description => (recorded = description["Data"]?.DeepClone()) is not null);
        Assert.That(recorded?["ClassNames"]?.AsArray().Select(name => name!.GetValue<string>()), Is.EqualTo(PipelineData.ClassNames.Reverse()),
            "the checkpoint written after the resume records the rows it went on with");
    }

    // Passes the checkpoint's description (the JSON record beside its tensors) to edit, and writes
    // it back changed when edit returns true.
    private static bool EditDescription(string checkpoint, Func<JsonObject, bool> edit)
    {
        using ZipArchive zip = ZipFile.Open(checkpoint, ZipArchiveMode.Update);
        ZipArchiveEntry entry = zip.Entries.Single(e => e.FullName.EndsWith("/bninception-checkpoint.json", StringComparison.Ordinal));
        JsonObject description;
        using (Stream stream = entry.Open())
        {
            description = JsonNode.Parse(stream)!.AsObject();
        }

        if (!edit(description))
        {
            return false;
        }

        string name = entry.FullName;
        entry.Delete();
        using Stream rewritten = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        JsonSerializer.Serialize(rewritten, description);
        return true;
    }
}
