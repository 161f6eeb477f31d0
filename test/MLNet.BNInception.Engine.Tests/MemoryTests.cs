using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.Training;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>Long loops inside dispose scopes neither leak tensors nor grow resident memory.</summary>
public class MemoryTests
{
    [Trains]
    [Test]
    public void TwoThousandTrainingStepsKeepTensorsAndMemoryFlat()
    {
        const int warmUpSteps = 100, steps = 2000;
        manual_seed(5);
        long tensorsAtStart = LiveTensors();
        // Our blocks and step, which hold their Scalars (TorchSharp's BatchNorm2d and SGD.step make
        // them implicitly: docs/engine.md, "Scalars that stay alive").
        var blocks = new BnInceptionOptions();
        using (var net = nn.Sequential(
            new ConvolutionBlock(1, 8, 3, 1, 1, blocks), new ConvolutionBlock(8, 16, 3, 2, 1, blocks),
            nn.Flatten(), nn.Linear(16 * 8 * 8, 10)))
        using (var optimizer = optim.SGD(net.parameters(), 0.05, momentum: 0.9, weight_decay: 1e-4))
        using (Tensor images = randn([16, 1, 16, 16]))
        using (Tensor labels = randint(0, 10, [16]))
        {
            void TrainStep()
            {
                using DisposeScope scope = NewDisposeScope();
                Tensor loss = F.cross_entropy(net.call(ChannelsLast.Of(images)), labels, label_smoothing: 0.1);
                optimizer.zero_grad();
                loss.backward();
                SgdStep.Apply(optimizer);
            }

            for (int i = 0; i < warmUpSteps; i++)
            {
                TrainStep();
            }

            long tensorsAfterWarmUp = LiveTensors();
            long residentAfterWarmUp = ResidentBytes();
            for (int i = 0; i < steps; i++)
            {
                TrainStep();
            }

            long growth = ResidentBytes() - residentAfterWarmUp;
            TestContext.Out.WriteLine($"{steps} steps: resident memory grew by {growth / 1024.0 / 1024:F1} MB");
            Assert.That(LiveTensors(), Is.EqualTo(tensorsAfterWarmUp), "tensors alive after the loop, none left to the finalizer");
            Assert.That(growth, Is.LessThan(50L * 1024 * 1024), $"resident memory grew by {growth / 1024 / 1024} MB");
        }

        Assert.That(LiveTensors(), Is.EqualTo(tensorsAtStart), "tensors alive once the model and optimizer are disposed");
    }

    [Trains]
    [TestCase(TrainingPrecision.Float32)]
    [TestCase(TrainingPrecision.BFloat16Mixed, Description = "with the optimizer's bfloat16 copies of the weights")]
    public void TrainingAndScoringBnInceptionLeaveNoTensorBehind(TrainingPrecision precision)
    {
        var model = new BnInceptionOptions { InputSize = 64, InputChannels = 1, NumClasses = 3 };
        using var folder = new TemporaryDirectory();
        using Tensor images = randn([20, 1, 64, 64]);
        using Tensor labels = randint(0, 3, [20]);
        TrainerOptions options = new()
        {
            Epochs = 2, BatchSize = 4, LearningRate = 0.01, ValidationFraction = 0.2, CheckpointPath = folder.File("run.ckpt"),
            EarlyStopping = new EarlyStoppingOptions { Patience = 5 }, Precision = precision,
        };
        long before = LiveTensors();
        using (TrainingResult result = new BnInceptionTrainer(model, options).Fit(images, labels))
        using (var scorer = new BnInceptionScorer(result.Model, new ScorerOptions { BatchSize = 7 }))
        using (Tensor probabilities = scorer.Probabilities(images))
        {
            Assert.That(probabilities.shape, Is.EqualTo(new long[] { 20, 3 }));
        }

        using (TrainingResult resumed = BnInceptionTrainer.Resume(folder.File("run.ckpt"), images, labels))
        {
            Assert.That(resumed.History, Has.Count.EqualTo(2));
        }

        Assert.That(LiveTensors(), Is.EqualTo(before), "every tensor made by training, checkpointing, resuming and scoring was disposed");
    }

    // TorchSharp's count of tensors made on this thread and not yet disposed. A tensor left to the
    // garbage collector stays counted (its finalizer runs on another thread), so a tensor this code
    // forgot to dispose fails the test however the collector is timed.
    private static long LiveTensors() => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;

    private static long ResidentBytes()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }
}
