using System.Globalization;
using MLNet.BNInception.DataViews;
using MLNet.BNInception.Engine.Distributed;
using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;
using static TorchSharp.torch;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Settings that only the first checkpoint, or the fitted model, would use are refused before the trainer reads a
/// row, naming the setting; and a batch larger than the data takes the memory of the rows there are.
/// </summary>
public class SettingsUsedLaterTests : SingleThreadedFixture
{
    private static BnInceptionMulticlassTrainer.Options Options() => new()
    {
        ImageSize = 64,
        Training = TrainerOptions.PaperBnX5 with { Epochs = 1, BatchSize = 8 },
    };

    private static (TException Error, RecordingDataView Data) FitError<TException>(BnInceptionMulticlassTrainer.Options options)
        where TException : Exception
    {
        var ml = new MLContext(seed: 1);
        var data = new RecordingDataView(PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 16)));
        var error = Assert.Throws<TException>(() => ml.MulticlassClassification.Trainers.BnInception(options).Fit(data));
        Assert.That(data.RowsRead, Is.Zero, "refused before any row is read");
        return (error!, data);
    }

    [TestCase("tpu", "is not a device name")]
    [TestCase("cuda", "has no usable CUDA device")]
    public void AScoringDeviceTheBackendLacksIsRefusedBeforeTraining(string device, string reason)
    {
        if (device == "cuda" && cuda.is_available())
        {
            device = $"cuda:{cuda.device_count()}";
            reason = "does not exist";
        }

        BnInceptionMulticlassTrainer.Options options = Options();
        options.Scoring = new ScorerOptions { Device = device };

        (ArgumentException error, _) = FitError<ArgumentException>(options);

        Assert.That(error.Message, Does.StartWith("Scoring.Device, where the fitted model scores: ").And.Contain(reason));
        Assert.That(error.ParamName, Is.EqualTo("Scoring"));
    }

    [Test]
    public void ATrainingDeviceThatIsNoDeviceIsRefusedBeforeAnyRowIsRead()
    {
        BnInceptionMulticlassTrainer.Options options = Options();
        options.Device = "gpu0";

        (ArgumentException error, _) = FitError<ArgumentException>(options);

        Assert.That(error.Message, Does.StartWith("Device: Device 'gpu0' is not a device name"));
    }

    [TestCase("missing folder")]
    [TestCase("a folder")]
    [TestCase("a folder that takes no file")]
    public void ACheckpointPathNoFileCanBeWrittenAtIsRefusedBeforeAnyRowIsRead(string what)
    {
        using var folder = new TemporaryDirectory();
        (string path, string reason) = what switch
        {
            "missing folder" => (folder.File("runs/run.ckpt"), $"the folder '{folder.File("runs")}' does not exist"),
            "a folder" => (folder.Path, "is a folder"),
            // /proc takes no new file, whoever the user (the tests may run as root, whom permissions do not stop).
            _ => ("/proc/run.ckpt", "no file can be written in the folder '/proc'"),
        };
        BnInceptionMulticlassTrainer.Options options = Options();
        options.CheckpointPath = path;

        (ArgumentException error, _) = FitError<ArgumentException>(options);

        Assert.That(error.Message, Does.StartWith($"CheckpointPath: '{path}'").And.Contain(reason));
        Assert.That(error.ParamName, Is.EqualTo(nameof(options.CheckpointPath)));
        Assert.That(Directory.GetFileSystemEntries(folder.Path), Is.Empty, "nothing was written");
    }

    [TestCase("not a state dict")]
    [TestCase("another network's")]
    public void InitialWeightsThatDoNotFitAreRefusedBeforeAnyRowIsRead(string what)
    {
        using var folder = new TemporaryDirectory();
        string path = folder.File("weights.pt");
        if (what == "not a state dict")
        {
            File.WriteAllText(path, "path,label\n");
        }
        else
        {
            // The weights of a network of 3 classes, for one of the 10 the data's key has.
            using var other = new Engine.Network.BnInception(new Engine.Network.BnInceptionOptions { InputSize = 64, InputChannels = 1, NumClasses = 3 });
            Engine.Interop.PyTorchStateDict.Save(other.state_dict(), path);
        }

        BnInceptionMulticlassTrainer.Options options = Options();
        options.Training = options.Training with { InitialWeightsPath = path };

        (InvalidDataException error, _) = FitError<InvalidDataException>(options);

        Assert.That(error.Message, Does.Contain(path).And.Contain(what == "not a state dict" ? "zip" : "fc.weight"));
    }

    [Test]
    public void TheEngineRefusesACheckpointPathInAMissingFolderBeforeItsFirstStep()
    {
        using var folder = new TemporaryDirectory();
        string path = folder.File("runs/run.ckpt");
        int steps = 0;
        using Tensor images = rand(8, 1, 64, 64);
        using Tensor labels = tensor(new long[] { 0, 1, 0, 1, 0, 1, 0, 1 });
        var trainer = new BnInceptionTrainer(new Engine.Network.BnInceptionOptions { InputSize = 64, InputChannels = 1, NumClasses = 2 },
            TrainerOptions.PaperBnX5 with { Epochs = 1, BatchSize = 4, CheckpointPath = path });

        var error = Assert.Throws<ArgumentException>(() => trainer.Fit(images, labels, onStep: _ => steps++));

        Assert.That(error!.Message, Does.StartWith($"CheckpointPath: '{path}': the folder '{folder.File("runs")}' does not exist"));
        Assert.That(steps, Is.Zero);
    }

    [Test]
    public void ABatchLargerThanOneArrayHoldsIsRefusedBeforeAnyRowIsRead()
    {
        BnInceptionMulticlassTrainer.Options training = Options();
        training.BatchSize = int.MaxValue;
        (ArgumentOutOfRangeException error, _) = FitError<ArgumentOutOfRangeException>(training);
        Assert.That(error.Message, Does.StartWith(string.Create(CultureInfo.InvariantCulture, $"BatchSize {int.MaxValue:N0} is more images of 1x64x64"))
            .And.Contain(string.Create(CultureInfo.InvariantCulture, $"use at most {Array.MaxLength / 4096:N0}")));

        BnInceptionMulticlassTrainer.Options scoring = Options();
        scoring.Scoring = new ScorerOptions { BatchSize = 600_000 };
        (ArgumentOutOfRangeException scoringError, _) = FitError<ArgumentOutOfRangeException>(scoring);
        Assert.That(scoringError.Message, Does.StartWith("Scoring.BatchSize 600,000 is more images of 1x64x64 and 10 classes"));
    }

    [Test]
    public void ABatchLargerThanTheDataTakesTheMemoryOfItsRows()
    {
        const int imageSize = 3 * 224 * 224, batchSize = 100_000;
        var layout = new ImageFeatureLayout(3, 224);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var batch = new RawBatch(batchSize, (0, batchSize), imageSize, rowsLeft: 2);
        for (int row = 0; row < 5; row++)
        {
            // More rows than the pass counted: the arrays grow.
            batch.NextSlot.Fill(row);
            batch.AddShared(label: row % 2, row: 10 + row);
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        BatchShare share = batch.ToTensors(layout);
        using LabelledBatch tensors = share.Batch;

        Assert.That(allocated, Is.LessThan(16L * imageSize * sizeof(float)), "the arrays held at most a few rows, not a batch of 100,000 (60 GB)");
        Assert.That(batch.IsComplete, Is.False);
        Assert.That(tensors.Images.shape, Is.EqualTo(new long[] { 5, 3, 224, 224 }));
        Assert.That(tensors.Labels.data<long>().ToArray(), Is.EqualTo(new long[] { 0, 1, 0, 1, 0 }));
        using Tensor means = tensors.Images.mean([1, 2, 3]);
        Assert.That(means.data<float>().ToArray(), Is.EqualTo(new float[] { 0, 1, 2, 3, 4 }));
    }

    [Test]
    public void AScoringBatchLargerThanTheDataScoresItsRowsAsTheDefaultBatchDoes()
    {
        var ml = new MLContext(seed: 1);
        IDataView train = PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 8));
        BnInceptionMulticlassTrainer.Options options = Options();
        options.Training = options.Training with { Epochs = 1, BatchSize = 4, Seed = 2 };
        options.Scoring = new ScorerOptions { BatchSize = 150_000 };
        using BnInceptionPredictionTransformer large = ml.MulticlassClassification.Trainers.BnInception(options).Fit(train);
        options.Scoring = new ScorerOptions();
        using BnInceptionPredictionTransformer usual = ml.MulticlassClassification.Trainers.BnInception(options).Fit(train);
        IDataView test = PipelineData.KeyedView(ml, PipelineData.FashionRows("t10k", 5));

        long before = GC.GetTotalAllocatedBytes(precise: true);
        float[][] scores = large.Transform(test).GetColumn<float[]>("Score").ToArray();
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.That(allocated, Is.LessThan(64L << 20), "150,000 rows of pixels would be 2.4 GB");
        Assert.That(scores, Is.EqualTo(usual.Transform(test).GetColumn<float[]>("Score").ToArray()), "the same seed trains the same network, which scores alike");
    }
}
