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
        var error = Assert.Throws<InvalidDataException>(() => ml.MulticlassClassification.Trainers.BnInception(options).Fit(other));
        Assert.That(error!.Message, Does.Contain("run.ckpt is a run of a network for 10 classes").And.Contain("this data has 3 classes")
            .And.Contain("Delete the checkpoint or choose another path"));
    }
}
