using MLNet.BNInception.Engine.Distributed;
using MLNet.BNInception.Engine.Training;
using TorchSharp.Modules;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// The training engine's contract: determinism, the steps' host reads, bad input, streaming;
/// divergence, cancellation and resumption are in TrainerTests.Stopping.cs, early stopping and the
/// best epoch's weights in TrainerTests.BestEpoch.cs.
/// </summary>
public partial class TrainerTests : SingleThreadedFixture
{
    private static readonly BnInceptionOptions Model = new() { InputSize = 64, InputChannels = 1, NumClasses = 3, Dropout = 0.2 };

    private static (Tensor Images, Tensor Labels) Data(int count)
    {
        using DisposeScope scope = NewDisposeScope();
        manual_seed(1234);
        Tensor labels = randint(0, 3, [count]);
        // Class-dependent brightness, so that there is something to learn.
        Tensor images = randn([count, 1, 64, 64]).add(labels.to(ScalarType.Float32).reshape(count, 1, 1, 1), TestTensors.One);
        return (images.DetachFromDisposeScope(), labels.DetachFromDisposeScope());
    }

    private static TrainerOptions Options(string? checkpoint = null) => new()
    {
        Epochs = 2, BatchSize = 4, LearningRate = 0.01, Seed = 77, ValidationFraction = 0.25, CheckpointPath = checkpoint,
        Augmentation = new AugmentationOptions { CropScale = (0.5, 1.0) },
    };

    private static byte[] Weights(BnInception model) => TestModels.WeightBytes(model);

    // The whole training step under back-to-back garbage collections: see ScalarLifetimeTests.
    [Trains]
    [Test]
    public void TrainingSurvivesCollectionsRunningThroughout()
    {
        (Tensor images, Tensor labels) = Data(48);
        using (images)
        using (labels)
        {
            int epochs = ScalarLifetimeTests.WhileCollecting(() =>
            {
                using TrainingResult result = new BnInceptionTrainer(Model, Options() with { Nesterov = true }).Fit(images, labels);
                return result.History.Count;
            });
            Assert.That(epochs, Is.EqualTo(2));
        }
    }

    [Trains]
    [Test]
    public void SameSeedGivesTheSameRunAndAnotherSeedDoesNot()
    {
        (Tensor images, Tensor labels) = Data(12);
        using (images)
        using (labels)
        {
            TrainerOptions once = Options() with { Epochs = 1, ValidationFraction = 0 };
            using TrainingResult first = new BnInceptionTrainer(Model, once).Fit(images, labels);
            using TrainingResult second = new BnInceptionTrainer(Model, once).Fit(images, labels);
            using TrainingResult other = new BnInceptionTrainer(Model, once with { Seed = 78 }).Fit(images, labels);
            TestModels.AssertSameBytes(Weights(second.Model), Weights(first.Model), "the weights");
            Assert.That(Weights(other.Model), Is.Not.EqualTo(Weights(first.Model)));
        }
    }

    [Trains]
    [Test]
    public void TrainsChannelsLastByDefaultAndContiguousOnRequestFromTheSameFirstLoss()
    {
        (Tensor images, Tensor labels) = Data(12);
        using (images)
        using (labels)
        {
            TrainerOptions once = Options() with { Epochs = 1, ValidationFraction = 0, Augmentation = AugmentationOptions.None };
            var firstLosses = new List<double>();
            using TrainingResult channelsLast = new BnInceptionTrainer(Model with { Dropout = 0 }, once)
                .Fit(images, labels, onStep: p => { if (p.Step == 1) firstLosses.Add(p.Loss); });
            using TrainingResult contiguous = new BnInceptionTrainer(Model with { Dropout = 0 }, once with { ChannelsLast = false })
                .Fit(images, labels, onStep: p => { if (p.Step == 1) firstLosses.Add(p.Loss); });

            Assert.That(channelsLast.Model.IsChannelsLast, Is.True);
            Assert.That(channelsLast.Model.Blocks().All(block => ChannelsLast.Is(block.Block.Conv.weight)), Is.True, "every convolution weight");
            Assert.That(contiguous.Model.IsChannelsLast, Is.False);
            Assert.That(contiguous.Model.Blocks().All(block => block.Block.Conv.weight.is_contiguous()), Is.True);
            // The first step's loss comes from the same weights and batch before any update.
            Assert.That(firstLosses, Has.Count.EqualTo(2));
            Assert.That(firstLosses[0], Is.EqualTo(firstLosses[1]).Within(1e-5));
        }
    }

    [Trains]
    [TestCase(2, Description = "a read every 2 steps of 3 an epoch: the epoch's end reads a part")]
    [TestCase(100, Description = "more than an epoch: read at each epoch's end only")]
    public void ReadingTheStepsLessOftenChangesNeitherTheWeightsNorTheMetricsNorTheReports(int stepsPerHostRead)
    {
        (Tensor images, Tensor labels) = Data(16);
        using (images)
        using (labels)
        {
            // 12 training images (4 held out) in batches of 4: 3 steps an epoch.
            var everyStep = new List<TrainingProgress>();
            using TrainingResult readEveryStep = new BnInceptionTrainer(Model, Options() with { StepsPerHostRead = 1 })
                .Fit(images, labels, onStep: everyStep.Add);
            var batched = new List<TrainingProgress>();
            using TrainingResult readLessOften = new BnInceptionTrainer(Model, Options() with { StepsPerHostRead = stepsPerHostRead })
                .Fit(images, labels, onStep: batched.Add);

            TestModels.AssertSameBytes(Weights(readLessOften.Model), Weights(readEveryStep.Model), "the weights");
            Assert.That(readLessOften.History, Is.EqualTo(readEveryStep.History), "epoch losses and accuracies, bit for bit");
            Assert.That(batched.Select(p => p.Step), Is.EqualTo(Enumerable.Range(1, 6)), "every step reported once, in order");
            // Throughput and time left are measured, so they differ; what the steps computed does not.
            static object Computed(TrainingProgress p) => (p.Epoch, p.Step, p.StepInEpoch, p.StepsPerEpoch, p.Loss, p.Accuracy, p.LearningRate);
            Assert.That(batched.Select(Computed), Is.EqualTo(everyStep.Select(Computed)));
            Assert.That(batched.All(p => p.ImagesPerSecond > 0 && p.Remaining >= TimeSpan.Zero), Is.True);
            Assert.That(batched.Where(p => p.Step == 6).Single().Remaining, Is.EqualTo(TimeSpan.Zero));
        }
    }

    [Test]
    public void BadSettingsAndDataAreRejectedBeforeTraining()
    {
        (Tensor images, Tensor labels) = Data(9);
        using (images)
        using (labels)
        {
            var one = Assert.Throws<ArgumentException>(() => new BnInceptionTrainer(Model, Options() with { BatchSize = 1 }));
            Assert.That(one!.Message, Does.Contain("BatchSize must be at least 2"));
            var reads = Assert.Throws<ArgumentException>(() => new BnInceptionTrainer(Model, Options() with { StepsPerHostRead = 0 }));
            Assert.That(reads!.Message, Does.Contain("StepsPerHostRead must be between 1 and"));
            reads = Assert.Throws<ArgumentException>(() => new BnInceptionTrainer(Model, Options() with { StepsPerHostRead = 10_001 }));
            Assert.That(reads!.Message, Does.Contain("StepsPerHostRead must be between 1 and 10000 (or null for the device's default), not 10001"));

            var lastOfOne = Assert.Throws<BatchSizeMismatchException>(() => new BnInceptionTrainer(Model, Options() with { ValidationFraction = 0 }).Fit(images, labels));
            Assert.That(lastOfOne!.Message, Does.Contain("last batch of 1 image").And.Contain("DropLastBatch"));
            Assert.That((lastOfOne.Images, lastOfOne.BatchSize), Is.EqualTo((9L, Options().BatchSize)));
            using TrainingResult dropped = new BnInceptionTrainer(Model, Options() with { ValidationFraction = 0, DropLastBatch = true, Epochs = 1 }).Fit(images, labels);
            Assert.That(dropped.History[0].TrainAccuracy, Is.InRange(0, 1));

            using Tensor badLabels = tensor(new long[] { 0, 1, 2, 0, 7, 1, 2, 0, 1 });
            var label = Assert.Throws<ArgumentException>(() => new BnInceptionTrainer(Model, Options()).Fit(images, badLabels));
            Assert.That(label!.Message, Does.Contain("label at row 4 is 7"));

            // The meta device holds no data: a second device a CPU-only machine has.
            using Tensor labelsElsewhere = labels.to(META);
            var elsewhere = Assert.Throws<ArgumentException>(() => new BnInceptionTrainer(Model, Options()).Fit(images, labelsElsewhere));
            Assert.That(elsewhere!.Message, Does.Contain("training images are on cpu and their labels on meta"));

            using Tensor wrongSize = zeros([9, 1, 48, 96]);
            var size = Assert.Throws<ArgumentException>(() => new BnInceptionTrainer(Model, Options()).Fit(wrongSize, labels));
            Assert.That(size!.Message, Does.Contain("N x 1 x H x W with H and W at least 64").And.Contain("[9, 1, 48, 96]"));

            if (!cuda.is_available())
            {
                var device = Assert.Throws<ArgumentException>(() => new BnInceptionTrainer(Model, Options() with { Device = "cuda" }).Fit(images, labels));
                Assert.That(device!.Message, Does.Contain("no usable CUDA device"));
            }

            Assert.Throws<ArgumentException>(() => new BnInceptionOptions { InputSize = 70 }.Validate());
        }
    }

    /// <summary>
    /// Evaluation over batches (64, then the last 6 of 70), whose sums are read back once at the end,
    /// gives the mean cross-entropy and accuracy of the whole set scored in one call, and leaves the
    /// network in the mode it found it in.
    /// </summary>
    [Test]
    public void EvaluateGivesTheWholeSetsMeanLossAndAccuracy()
    {
        (Tensor images, Tensor labels) = Data(70);
        using (images)
        using (labels)
        using (var model = new BnInception(Model, seed: 3))
        {
            model.train();
            (double loss, double accuracy) = BnInceptionTrainer.Evaluate(model, images, labels);
            Assert.That(model.training, Is.True, "back in training mode");

            model.eval();
            using DisposeScope scope = NewDisposeScope();
            using IDisposable inference = inference_mode();
            Tensor logits = model.call(images);
            double wholeLoss = nn.functional.cross_entropy(logits.to(ScalarType.Float64), labels).item<double>();
            double wholeAccuracy = logits.argmax(1).eq(labels).sum().item<long>() / 70.0;
            Assert.That(loss, Is.EqualTo(wholeLoss).Within(1e-5));
            Assert.That(accuracy, Is.EqualTo(wholeAccuracy));
        }
    }

    /// <summary>
    /// The ranks of a data-parallel run validate their shares of each global batch (docs/distributed.md):
    /// with 129 examples in evaluation batches of 64 on 2 ranks, the global batches hold 128 and 1, so rank 0's
    /// share of the last is empty. Their sums, added, are one process's evaluation of the whole set.
    /// </summary>
    [Test]
    public void TheRanksValidationSharesAddUpToTheWholeSetsEvaluation()
    {
        (Tensor images, Tensor labels) = Data(129);
        using (images)
        using (labels)
        using (var model = new BnInception(Model, seed: 3))
        {
            var source = new InMemoryBatchSource(images, labels, Model, "validation");
            EvaluationSums[] shares = [.. Enumerable.Range(0, 2).Select(rank =>
                BnInceptionTrainer.Sum(model, new RankShardedBatchSource(source, rank, 2), CancellationToken.None))];
            (double loss, double accuracy) = BnInceptionTrainer.Evaluate(model, source);

            Assert.That(shares.Select(share => share.Count), Is.EqualTo(new[] { 64L, 65L }), "each example evaluated once, by one rank");
            var added = new EvaluationSums(shares.Sum(share => share.LossSum), shares.Sum(share => share.Correct), shares.Sum(share => share.Count));
            Assert.That(added.Means.Accuracy, Is.EqualTo(accuracy));
            Assert.That(added.Means.Loss, Is.EqualTo(loss).Within(1e-12 * loss), "the same batches' float sums, added in another order");
            Assert.That(accuracy, Is.GreaterThan(0).And.LessThan(1), "some right and some wrong, so that the counts say something");
        }
    }

    /// <summary>
    /// A source that checked its labels when it was made says so on each batch, and the trainer then
    /// leaves out its own check (on a GPU it would wait for the device every step); but a check
    /// against more classes than the network has proves nothing, and the trainer still refuses a
    /// label beyond the network's classes, naming its row.
    /// </summary>
    [Test]
    public void LabelsCheckedByTheSourceForAtMostTheNetworksClassesAreNotCheckedAgain()
    {
        (Tensor images, Tensor labels) = Data(8);
        using (images)
        using (labels)
        {
            var checkedSource = new InMemoryBatchSource(images, labels, Model);
            LabelledBatch[] batches = [.. checkedSource.ReadBatches(3, shuffleSeed: 1, skipBatches: 0, dropLastBatch: false, CancellationToken.None)];
            try
            {
                Assert.That(batches.Select(batch => batch.LabelsCheckedForClasses), Is.All.EqualTo(Model.NumClasses));
                Assert.That(TrainingBatchCheck.LabelsNeedChecking(batches[0], Model.NumClasses), Is.False);
                Assert.That(TrainingBatchCheck.LabelsNeedChecking(batches[0], Model.NumClasses + 1), Is.False, "checked against fewer classes");
                Assert.That(TrainingBatchCheck.LabelsNeedChecking(batches[0], Model.NumClasses - 1), Is.True, "checked against more classes");
                Assert.That(TrainingBatchCheck.LabelsNeedChecking(batches[0] with { LabelsCheckedForClasses = null }, Model.NumClasses), Is.True, "not checked");
            }
            finally
            {
                foreach (LabelledBatch batch in batches)
                {
                    batch.Dispose();
                }
            }

            // Checked for 10 classes, given to a network of 3: the 7 at row 4 is refused before any step.
            using Tensor wideLabels = tensor(new long[] { 0, 1, 2, 0, 7, 1, 2, 0 });
            var checkedForMore = new InMemoryBatchSource(images, wideLabels, Model with { NumClasses = 10 });
            var refused = Assert.Throws<ArgumentException>(() => new BnInceptionTrainer(Model, Options() with { BatchSize = 8, ValidationFraction = 0 }).Fit(checkedForMore));
            Assert.That(refused!.Message, Does.Contain("training label at row 4 is 7, outside 0..2"));
        }
    }

    [Trains]
    [Test]
    public void InitialWeightsComeFromAStateDictOrACheckpointAndMustFit()
    {
        using var folder = new TemporaryDirectory();
        (Tensor images, Tensor labels) = Data(12);
        using (images)
        using (labels)
        {
            TrainerOptions once = Options(folder.File("first.ckpt")) with { Epochs = 1, ValidationFraction = 0 };
            using TrainingResult first = new BnInceptionTrainer(Model, once).Fit(images, labels);
            Interop.PyTorchStateDict.Save(first.Model.state_dict(), folder.File("weights.pt"));
            TrainingCheckpointTests.WriteAsFormat2(folder.File("first.ckpt"), folder.File("format2.ckpt"));

            // A rate too small to move anything: the run ends where its initial weights put it. A
            // checkpoint of the earlier format cannot be resumed, but its weights can start a run.
            TrainerOptions still = Options() with { Epochs = 1, ValidationFraction = 0, LearningRate = 1e-12, Momentum = 0 };
            foreach (string source in new[] { "weights.pt", "first.ckpt", "format2.ckpt" })
            {
                using TrainingResult next = new BnInceptionTrainer(Model, still with { InitialWeightsPath = folder.File(source) }).Fit(images, labels);
                foreach ((string name, Parameter parameter) in first.Model.named_parameters())
                {
                    float[] expected = TestModels.Values(parameter);
                    float[] actual = TestModels.Values(next.Model.state_dict()[name]);
                    Assert.That(actual.Zip(expected, (a, b) => Math.Abs(a - b)).Max(), Is.LessThan(1e-6), $"{source}: {name}");
                }
            }

            using TrainingResult fresh = new BnInceptionTrainer(Model, still).Fit(images, labels);
            Assert.That(TestTensors.SameBytes(fresh.Model.state_dict()["fc.weight"], first.Model.state_dict()["fc.weight"]), Is.False,
                "without initial weights the run starts from its seed");

            var wrong = Assert.Throws<InvalidDataException>(() => new BnInceptionTrainer(Model with { NumClasses = 4 }, still with { InitialWeightsPath = folder.File("weights.pt") })
                .Fit(images, labels));
            Assert.That(wrong!.Message, Does.Contain("weights.pt").And.Contain("'fc.weight' has shape [3, 1024], the model's is [4, 1024]"));
        }
    }

    [Trains]
    [Test]
    public void ASourceIsReadABatchAtATimeInANewOrderEveryEpoch()
    {
        (Tensor images, Tensor labels) = Data(12);
        using (images)
        using (labels)
        {
            var source = new RecordingSource(new InMemoryBatchSource(images, labels, Model));
            // Six batches a pass, so that a reader that kept them, or read further ahead, would show.
            TrainerOptions options = Options() with { Epochs = 3, BatchSize = 2, ValidationFraction = 0 };
            using TrainingResult result = new BnInceptionTrainer(Model, options).Fit(source);

            Assert.That(source.Passes, Has.Count.EqualTo(3), "one pass per epoch");
            Assert.That(source.MostBatchesAlive, Is.InRange(1, 1 + BatchPrefetcher.DefaultBatchesAhead),
                "each batch was disposed once trained on: the one in training and at most two read ahead were alive");
            Assert.That(source.HandedOut, Has.Count.EqualTo(18).And.All.Matches<LabelledBatch>(batch => batch.Images.IsInvalid && batch.Labels.IsInvalid),
                "every batch read was freed by the end");
            foreach (List<long> pass in source.Passes)
            {
                Assert.That(pass.Order(), Is.EqualTo(Enumerable.Range(0, 12)), "every example once per pass");
            }

            Assert.That(source.Passes.Select(pass => string.Join(",", pass)).Distinct().Count(), Is.EqualTo(3), "reshuffled every epoch");
        }
    }

    [Test]
    public void ASourceThatGivesFewerExamplesThanItCountsIsNamed()
    {
        (Tensor images, Tensor labels) = Data(12);
        using (images)
        using (labels)
        {
            var source = new ShortSource(new InMemoryBatchSource(images, labels, Model), batches: 2);
            var error = Assert.Throws<InvalidOperationException>(() =>
                new BnInceptionTrainer(Model, Options() with { Epochs = 1, ValidationFraction = 0 }).Fit(source).Dispose());
            Assert.That(error!.Message, Is.EqualTo("The training source (ShortSource) ended a pass early: it reported 12 examples but gave fewer."));
        }
    }

    /// <summary>Counts its source's examples but gives only its first batches.</summary>
    private sealed class ShortSource(ILabelledBatchSource inner, int batches) : ILabelledBatchSource
    {
        public long Count => inner.Count;

        public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch, CancellationToken cancellationToken) =>
            inner.ReadBatches(batchSize, shuffleSeed, skipBatches, dropLastBatch, cancellationToken).Take(batches);
    }

    /// <summary>Passes a source's batches on, recording which rows each pass read and how many of its batches were alive at once.</summary>
    private sealed class RecordingSource(ILabelledBatchSource inner) : ILabelledBatchSource
    {
        public List<List<long>> Passes { get; } = [];

        public int MostBatchesAlive { get; private set; }

        public List<LabelledBatch> HandedOut { get; } = [];

        public long Count => inner.Count;

        public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch, CancellationToken cancellationToken)
        {
            var pass = new List<long>();
            Passes.Add(pass);
            foreach (LabelledBatch batch in inner.ReadBatches(batchSize, shuffleSeed, skipBatches, dropLastBatch, cancellationToken))
            {
                pass.AddRange(batch.Rows);
                HandedOut.Add(batch);
                MostBatchesAlive = Math.Max(MostBatchesAlive, HandedOut.Count(b => !b.Images.IsInvalid));
                yield return batch;
            }
        }
    }
}
