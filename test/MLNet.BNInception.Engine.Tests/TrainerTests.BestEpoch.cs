using System.Security.Cryptography;
using System.Text;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>The training engine's contract, continued: early stopping, the best epoch, and the weights a run returns.</summary>
public partial class TrainerTests
{
    // The SHA-256 of a state dict's names and bytes, in the order of the names: a checkpoint's
    // section and a network's state dict compare alike whatever order each lists its tensors in.
    private static string WeightsHash(IEnumerable<KeyValuePair<string, Tensor>> stateDict)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach ((string name, Tensor value) in stateDict.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            using DisposeScope scope = NewDisposeScope();
            hash.AppendData(Encoding.UTF8.GetBytes(name));
            hash.AppendData(value.detach().cpu().contiguous().bytes);
        }

        return Convert.ToHexString(hash.GetHashAndReset());
    }

    // Records the weights the network has after each epoch. onEpoch is given no network, but it is
    // called after the epoch's checkpoint is written, whose model section holds them.
    private static Action<EpochMetrics> RecordWeightsAfterEachEpoch(string checkpoint, Dictionary<int, string> weightsAfter) =>
        metrics =>
        {
            using TrainingCheckpoint.Loaded saved = TrainingCheckpoint.Load(checkpoint);
            weightsAfter[metrics.Epoch] = WeightsHash(saved.Section("model."));
        };

    [Trains]
    [Test]
    public void EarlyStoppingStopsAfterThePatienceAndKeepsTheBestWeights()
    {
        using var folder = new TemporaryDirectory();
        string checkpoint = folder.File("run.ckpt");
        (Tensor images, Tensor labels) = Data(16);
        using (images)
        using (labels)
        {
            // A required improvement no run can make: the first epoch is the best, then patience runs out.
            TrainerOptions options = Options(checkpoint) with
            {
                Epochs = 6,
                EarlyStopping = new EarlyStoppingOptions { Patience = 2, MinDelta = 100 },
            };
            var weightsAfter = new Dictionary<int, string>();
            using TrainingResult result = new BnInceptionTrainer(Model, options).Fit(images, labels, onEpoch: RecordWeightsAfterEachEpoch(checkpoint, weightsAfter));
            Assert.That(result.StopReason, Is.EqualTo(StopReason.EarlyStopped));
            Assert.That(result.History, Has.Count.EqualTo(3));
            Assert.That(result.BestEpoch, Is.EqualTo(1));
            Assert.That(weightsAfter[3], Is.Not.EqualTo(weightsAfter[1]), "the epochs after the best moved the weights");
            Assert.That(WeightsHash(result.Model.state_dict()), Is.EqualTo(weightsAfter[1]), "the model returned has epoch 1's weights, not the last epoch's");

            // Resumed from the checkpoint of its stop, the run stays stopped: no epoch more, the same model.
            using TrainingResult resumed = BnInceptionTrainer.Resume(checkpoint, images, labels);
            Assert.That(resumed.StopReason, Is.EqualTo(StopReason.EarlyStopped));
            Assert.That(resumed.History, Is.EqualTo(result.History));
            Assert.That(resumed.BestEpoch, Is.EqualTo(1));
            TestModels.AssertSameBytes(Weights(resumed.Model), Weights(result.Model), "the weights");
        }
    }

    /// <summary>
    /// With no improvement required, the best epoch is the first with the lowest validation loss, or
    /// the highest validation accuracy, in the history the run reports (a tie does not improve), and
    /// the network returned holds the weights of the end of that epoch. The seed's run of 4 epochs
    /// peaks inside it on both metrics, and at another epoch than the metric's reversed direction
    /// would choose, which the test checks before relying on it.
    /// </summary>
    [Trains]
    [TestCase(StoppingMetric.ValidationLoss)]
    [TestCase(StoppingMetric.ValidationAccuracy)]
    public void TheBestEpochIsTheHistorysBestByTheMetricAndItsWeightsAreReturned(StoppingMetric metric)
    {
        using var folder = new TemporaryDirectory();
        string checkpoint = folder.File("run.ckpt");
        (Tensor images, Tensor labels) = Data(56);
        using (images)
        using (labels)
        using (Tensor trainImages = images.narrow(0, 0, 32))
        using (Tensor trainLabels = labels.narrow(0, 0, 32))
        using (Tensor validationImages = images.narrow(0, 32, 24))
        using (Tensor validationLabels = labels.narrow(0, 32, 24))
        {
            // A patience as long as the run, so it never stops: both metrics watch the same run.
            TrainerOptions options = Options(checkpoint) with
            {
                Epochs = 4, ValidationFraction = 0, LearningRate = 0.001,
                EarlyStopping = new EarlyStoppingOptions { Metric = metric, Patience = 4, MinDelta = 0 },
            };
            var weightsAfter = new Dictionary<int, string>();
            using TrainingResult result = new BnInceptionTrainer(Model, options)
                .Fit(trainImages, trainLabels, validationImages, validationLabels, onEpoch: RecordWeightsAfterEachEpoch(checkpoint, weightsAfter));

            // Lower is better: the loss, and the accuracy negated.
            double[] cost = [.. result.History.Select(epoch => metric == StoppingMetric.ValidationLoss ? epoch.ValidationLoss!.Value : -epoch.ValidationAccuracy!.Value)];
            int best = Array.IndexOf(cost, cost.Min()) + 1;
            int reversedBest = Array.IndexOf(cost, cost.Max()) + 1;
            Assert.That(result.History, Has.Count.EqualTo(4));
            Assert.That(best, Is.LessThan(4), "the run's best epoch is not its last, so the last weights are not the best");
            Assert.That(reversedBest, Is.Not.EqualTo(best), "the metric moved, so its direction decides the best epoch");
            Assert.That(weightsAfter.Values.Distinct().Count(), Is.EqualTo(4), "every epoch moved the weights");

            Assert.That(result.BestEpoch, Is.EqualTo(best));
            Assert.That(WeightsHash(result.Model.state_dict()), Is.EqualTo(weightsAfter[best]), $"the model returned has epoch {best}'s weights");
        }
    }
}
