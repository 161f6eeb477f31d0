using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>The training engine's contract, continued: runs that stop (divergence, cancellation), their checkpoints, and resumption.</summary>
public partial class TrainerTests
{
    // Trains with a checkpoint until it is cancelled: after step `stepInEpoch` of epoch 1, or at the
    // end of epoch 1 when that is 0.
    private static void TrainUntilCancelled(TrainerOptions options, Tensor images, Tensor labels, int stepInEpoch)
    {
        using var cancellation = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => new BnInceptionTrainer(Model, options).Fit(images, labels,
            onStep: progress => { if (stepInEpoch > 0 && progress.Epoch == 1 && progress.StepInEpoch == stepInEpoch) cancellation.Cancel(); },
            onEpoch: metrics => { if (stepInEpoch == 0 && metrics.Epoch == 1) cancellation.Cancel(); },
            cancellationToken: cancellation.Token));
    }

    // A run that validates returns its best epoch's weights, which can be from before the stop; the
    // checkpoint written at its end holds the last ones, and the momentum they were stepped with.
    private static void AssertSameLastWeightsAndMomentum(string checkpoint, string expectedCheckpoint)
    {
        using TrainingCheckpoint.Loaded actual = TrainingCheckpoint.Load(checkpoint);
        using TrainingCheckpoint.Loaded expected = TrainingCheckpoint.Load(expectedCheckpoint);
        Assert.That(WeightsHash(actual.Section("model.")), Is.EqualTo(WeightsHash(expected.Section("model."))), "the last weights");
        Assert.That(WeightsHash(actual.Section(TrainingCheckpoint.MomentumPrefix)), Is.EqualTo(WeightsHash(expected.Section(TrainingCheckpoint.MomentumPrefix))),
            "the last momentum");
    }

    [Trains]
    // Inside an epoch in mixed precision only: what a resumption inside an epoch restores (the step,
    // the batch order, the momentum) does not depend on the precision.
    [TestCase(0, TrainingPrecision.Float32, Description = "cancelled at the end of epoch 1")]
    [TestCase(2, TrainingPrecision.BFloat16Mixed, Description = "mixed precision, cancelled inside epoch 1, after its second step")]
    public void ResumingGivesBitIdenticalWeightsToAnUninterruptedRun(int cancelAfterStepInEpoch, TrainingPrecision precision)
    {
        using var folder = new TemporaryDirectory();
        (Tensor images, Tensor labels) = Data(16);
        using (images)
        using (labels)
        {
            TrainerOptions options = Options() with { Precision = precision };
            using TrainingResult straight = new BnInceptionTrainer(Model, options with { CheckpointPath = folder.File("straight.ckpt") }).Fit(images, labels);

            string checkpoint = folder.File("run.ckpt");
            TrainUntilCancelled(options with { CheckpointPath = checkpoint }, images, labels, cancelAfterStepInEpoch);
            using TrainingResult resumed = BnInceptionTrainer.Resume(checkpoint, images, labels);
            TestModels.AssertSameBytes(Weights(resumed.Model), Weights(straight.Model), "the weights");
            AssertSameLastWeightsAndMomentum(checkpoint, folder.File("straight.ckpt"));
            Assert.That(resumed.History, Is.EqualTo(straight.History));
            Assert.That(straight.History, Has.Count.EqualTo(2));
        }
    }

    [Trains]
    [Test]
    public void AResumedRunSavesToTheCheckpointItWasResumedFromNotToThePathItRecords()
    {
        using var folder = new TemporaryDirectory();
        (Tensor images, Tensor labels) = Data(16);
        using (images)
        using (labels)
        {
            string started = folder.File("run.ckpt");
            TrainUntilCancelled(Options() with { CheckpointPath = started }, images, labels, stepInEpoch: 0);
            // A checkpoint moved away, or one copied from a colleague, still records the path its run began at.
            string moved = folder.File("moved.ckpt");
            File.Move(started, moved);
            Assert.That(TrainingCheckpoint.ReadDescription(moved).Trainer.CheckpointPath, Is.EqualTo(started));

            using TrainingResult resumed = BnInceptionTrainer.Resume(moved, images, labels);
            Assert.That(File.Exists(started), Is.False, "nothing was written where the run began");
            Assert.That(TrainingCheckpoint.ReadDescription(moved).State.History, Has.Count.EqualTo(2), "the file resumed from holds both epochs");
        }
    }

    [Trains]
    [Test]
    public void ACheckpointStoppedInsideAnEpochIsRefusedOnTooFewRowsForWhereItStopped()
    {
        using var folder = new TemporaryDirectory();
        (Tensor images, Tensor labels) = Data(16);
        (Tensor fewImages, Tensor fewLabels) = Data(4);
        using (images)
        using (labels)
        using (fewImages)
        using (fewLabels)
        {
            string checkpoint = folder.File("run.ckpt");
            TrainUntilCancelled(Options() with { CheckpointPath = checkpoint }, images, labels, stepInEpoch: 2);
            byte[] saved = File.ReadAllBytes(checkpoint);

            // 4 images, 1 held out: 3 rows, one batch an epoch, where the run stopped after its second.
            var refused = Assert.Throws<CheckpointMismatchException>(() => BnInceptionTrainer.Resume(checkpoint, fewImages, fewLabels));
            Assert.That(refused!.Message, Is.EqualTo($"{checkpoint} stopped after batch 2 of its epoch 1, but the training rows given make epochs of 1 batch of 4: " +
                "it is a run on more rows than these. Resume it on the data it was started with, or delete the checkpoint or choose another path to start afresh."));
            Assert.That(File.ReadAllBytes(checkpoint), Is.EqualTo(saved), "the checkpoint is left as it was");
        }
    }

    [Trains]
    [Test]
    public void AMixedPrecisionCheckpointResumesInFloat32()
    {
        using var folder = new TemporaryDirectory();
        (Tensor images, Tensor labels) = Data(16);
        using (images)
        using (labels)
        {
            using DisposeScope wrappers = NewDisposeScope();
            TrainerOptions mixed = Options() with { Precision = TrainingPrecision.BFloat16Mixed };
            using TrainingResult straight = new BnInceptionTrainer(Model, mixed).Fit(images, labels);
            string checkpoint = folder.File("run.ckpt");
            TrainUntilCancelled(mixed with { CheckpointPath = checkpoint }, images, labels, stepInEpoch: 2);

            // All of a checkpoint's state is float32 whatever the precision, so it goes on in float32.
            int remainingSteps = 0;
            using TrainingResult inFloat32 = BnInceptionTrainer.Resume(checkpoint, images, labels, onStep: _ => remainingSteps++,
                precision: TrainingPrecision.Float32);
            Assert.That(inFloat32.History, Has.Count.EqualTo(2));
            Assert.That(remainingSteps, Is.EqualTo(straight.History.Count * 3 - 2), "12 training images in steps of 4: 3 per epoch, 2 done before the stop");
            Assert.That(inFloat32.Model.parameters().All(p => p.dtype == ScalarType.Float32 && p.isfinite().all().item<bool>()), Is.True);
            Assert.That(Weights(inFloat32.Model), Is.Not.EqualTo(Weights(straight.Model)), "the rest of the run computed in float32");
            using TrainingCheckpoint.Loaded last = TrainingCheckpoint.Load(checkpoint);
            Assert.That(last.Trainer.Precision, Is.EqualTo(TrainingPrecision.Float32), "the checkpoint records the precision the run went on in");
        }
    }

    [Trains]
    [Test]
    public void CancellationTakesEffectWithinOneBatchAndLeavesAValidCheckpoint()
    {
        using var folder = new TemporaryDirectory();
        string checkpoint = folder.File("run.ckpt");
        (Tensor images, Tensor labels) = Data(16);
        using (images)
        using (labels)
        {
            using var cancellation = new CancellationTokenSource();
            int steps = 0;
            Assert.Throws<OperationCanceledException>(() => new BnInceptionTrainer(Model, Options(checkpoint) with { ValidationFraction = 0 })
                .Fit(images, labels, onStep: _ => { if (++steps == 3) cancellation.Cancel(); }, cancellationToken: cancellation.Token));
            Assert.That(steps, Is.EqualTo(3), "no step ran after the cancellation");

            using TrainingResult resumed = BnInceptionTrainer.Resume(checkpoint, images, labels, onStep: _ => steps++);
            Assert.That(steps, Is.EqualTo(8), "the resumed run did the 5 remaining steps of 2 epochs × 4");
        }
    }

    [Trains]
    [Test]
    public void CancellingDuringValidationKeepsTheEpochAndTheResumedRunValidatesAndGoesOn()
    {
        using var folder = new TemporaryDirectory();
        (Tensor images, Tensor labels) = Data(16);
        using (images)
        using (labels)
        {
            using TrainingResult straight = new BnInceptionTrainer(Model, Options(folder.File("straight.ckpt"))).Fit(images, labels);

            // Cancelled after the first epoch's last step (of 3): the token is seen while validating.
            string checkpoint = folder.File("run.ckpt");
            TrainUntilCancelled(Options(checkpoint), images, labels, stepInEpoch: 3);
            using (TrainingCheckpoint.Loaded saved = TrainingCheckpoint.Load(checkpoint))
            {
                Assert.That(saved.State.Epoch, Is.EqualTo(0), "still in the first epoch");
                Assert.That(saved.State.History, Is.Empty, "not yet validated");
                Assert.That(saved.State.Step, Is.EqualTo(3), "its 3 steps kept");
            }

            int resumedSteps = 0;
            using TrainingResult resumed = BnInceptionTrainer.Resume(checkpoint, images, labels, onStep: _ => resumedSteps++);
            Assert.That(resumedSteps, Is.EqualTo(3), "only the second epoch's steps ran again");
            TestModels.AssertSameBytes(Weights(resumed.Model), Weights(straight.Model), "the weights");
            AssertSameLastWeightsAndMomentum(checkpoint, folder.File("straight.ckpt"));
            Assert.That(resumed.History, Is.EqualTo(straight.History));
        }
    }

    [Trains]
    [Test]
    public void CancellingBetweenReadsCheckpointsTheStepsNotYetReadAndResumesBitIdentically()
    {
        using var folder = new TemporaryDirectory();
        string checkpoint = folder.File("run.ckpt");
        (Tensor images, Tensor labels) = Data(16);
        using (images)
        using (labels)
        {
            // Read at each epoch's end only, so a cancellation inside an epoch finds steps not yet read.
            TrainerOptions options = Options() with { ValidationFraction = 0, StepsPerHostRead = 100 };
            var data = new InMemoryBatchSource(images, labels, Model);
            using TrainingResult straight = new BnInceptionTrainer(Model, options).Fit(data);

            // Cancelled during step 2: seen before step 3, with steps 1 and 2 not yet read.
            using var cancellation = new CancellationTokenSource();
            var cancelling = new CancellingSource(data, cancellation, batch: 2);
            var reported = new List<long>();
            Assert.Throws<OperationCanceledException>(() => new BnInceptionTrainer(Model, options with { CheckpointPath = checkpoint })
                .Fit(cancelling, onStep: p => reported.Add(p.Step), cancellationToken: cancellation.Token));
            Assert.That(reported, Is.EqualTo(new long[] { 1, 2 }), "the steps not yet read were read and reported before the stop");
            using (TrainingCheckpoint.Loaded saved = TrainingCheckpoint.Load(checkpoint))
            {
                Assert.That((saved.State.Epoch, saved.State.NextBatch, saved.State.Step), Is.EqualTo((0, 2, 2L)));
                Assert.That((saved.State.EpochBatches, saved.State.EpochSeen), Is.EqualTo((2, 8L)), "and went into the epoch's sums in the checkpoint");
            }

            using TrainingResult resumed = BnInceptionTrainer.Resume(checkpoint, data);
            TestModels.AssertSameBytes(Weights(resumed.Model), Weights(straight.Model), "the weights");
            Assert.That(resumed.History, Is.EqualTo(straight.History));
        }
    }

    [Trains]
    [Test]
    public void DivergenceStopsWithStepAndRateAndLeavesTheLastCheckpointIntact()
    {
        using var folder = new TemporaryDirectory();
        string checkpoint = folder.File("run.ckpt");
        (Tensor images, Tensor labels) = Data(8);
        using (images)
        using (labels)
        {
            // The rate jumps by 10^15 at epoch 2: epoch 1 ends with a good checkpoint, then the loss blows up.
            TrainerOptions exploding = Options(checkpoint) with { Epochs = 3, ValidationFraction = 0, Schedule = new StepSchedule(1, 1e15) };
            byte[]? afterEpochOne = null;
            var error = Assert.Throws<TrainingDivergedException>(() => new BnInceptionTrainer(Model, exploding)
                .Fit(images, labels, onEpoch: _ => afterEpochOne = File.ReadAllBytes(checkpoint)));

            Assert.That(error!.Message, Does.Contain("loss became").And.Contain($"step {error.Step}").And.Contain("learning rate"));
            Assert.That(error.Step, Is.GreaterThan(2), "epoch 1 (2 steps) trained normally");
            Assert.That(error.LearningRate, Is.GreaterThan(1e10));
            Assert.That(afterEpochOne, Is.Not.Null);
            TestModels.AssertSameBytes(File.ReadAllBytes(checkpoint), afterEpochOne, "nothing was written after the good epoch");
            using TrainingCheckpoint.Loaded intact = TrainingCheckpoint.Load(checkpoint);
            Assert.That(intact.State.Epoch, Is.EqualTo(1), "the checkpoint is the one written after epoch 1");
            Assert.That(intact.State.Step, Is.EqualTo(2));
        }
    }

    [Trains]
    // N = 1 is DivergenceStopsWithStepAndRateAndLeavesTheLastCheckpointIntact's.
    [TestCase(3, Description = "the bad step is the second of a read of three")]
    public void DivergenceNamesTheFirstStepWhoseLossWasNotFiniteHoweverOftenTheLossIsRead(int stepsPerHostRead)
    {
        using var folder = new TemporaryDirectory();
        string checkpoint = folder.File("run.ckpt");
        (Tensor images, Tensor labels) = Data(16);
        using (images)
        using (labels)
        {
            // 4 steps an epoch; the second batch of the second pass is all NaN: step 6.
            var source = new NaNBatchSource(new InMemoryBatchSource(images, labels, Model), pass: 2, batch: 2);
            TrainerOptions options = Options(checkpoint) with { Epochs = 3, ValidationFraction = 0, Schedule = new ConstantSchedule(), StepsPerHostRead = stepsPerHostRead };
            var reported = new List<long>();
            byte[]? afterEpochOne = null;
            var error = Assert.Throws<TrainingDivergedException>(() => new BnInceptionTrainer(Model, options)
                .Fit(source, onStep: p => reported.Add(p.Step), onEpoch: _ => afterEpochOne = File.ReadAllBytes(checkpoint)));

            Assert.That(error!.Step, Is.EqualTo(6));
            Assert.That(error.LearningRate, Is.EqualTo(options.LearningRate));
            Assert.That(error.Message, Does.Contain("loss became NaN at step 6 (epoch 2,").And.Contain("moved since")
                .And.Contain($"The last checkpoint, {checkpoint}, is from before step 6 and intact."));
            if (stepsPerHostRead == 3)
            {
                Assert.That(error.Message, Does.Contain("steps 6 to 7 were applied"), "read after step 7, with step 5");
            }

            Assert.That(reported, Is.EqualTo(new long[] { 1, 2, 3, 4, 5 }), "every step before the bad one was reported, none after");
            TestModels.AssertSameBytes(File.ReadAllBytes(checkpoint), afterEpochOne, "nothing was written after the good epoch");
        }
    }

    /// <summary>Passes a source's batches on, with every pixel of one batch (counting from 1) of one pass NaN.</summary>
    private sealed class NaNBatchSource(ILabelledBatchSource inner, int pass, int batch) : ILabelledBatchSource
    {
        private int _passes;

        public long Count => inner.Count;

        public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch, CancellationToken cancellationToken)
        {
            bool poisoned = ++_passes == pass;
            int index = skipBatches;
            foreach (LabelledBatch read in inner.ReadBatches(batchSize, shuffleSeed, skipBatches, dropLastBatch, cancellationToken))
            {
                if (poisoned && ++index == batch)
                {
                    using Scalar nan = float.NaN.ToScalar();
                    read.Images.fill_(nan);
                }

                yield return read;
            }
        }
    }

    /// <summary>
    /// Passes a source's batches on; one batch (counting from 1) of the first pass cancels a token
    /// when the trainer looks at its rows, which it does on its own thread as the batch's step begins.
    /// </summary>
    private sealed class CancellingSource(ILabelledBatchSource inner, CancellationTokenSource cancellation, int batch) : ILabelledBatchSource
    {
        private int _passes;

        public long Count => inner.Count;

        public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch, CancellationToken cancellationToken)
        {
            bool firstPass = ++_passes == 1;
            int index = skipBatches;
            foreach (LabelledBatch read in inner.ReadBatches(batchSize, shuffleSeed, skipBatches, dropLastBatch, cancellationToken))
            {
                yield return firstPass && ++index == batch ? read with { Rows = new CancellingRows(read.Rows, cancellation) } : read;
            }
        }
    }

    private sealed class CancellingRows(IReadOnlyList<long> rows, CancellationTokenSource cancellation) : IReadOnlyList<long>
    {
        public int Count
        {
            get
            {
                cancellation.Cancel();
                return rows.Count;
            }
        }

        public long this[int index] => rows[index];

        public IEnumerator<long> GetEnumerator() => rows.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    [Test]
    public void ABatchOfOneImageFromASourceIsRefusedBeforeItsStep()
    {
        (Tensor images, Tensor labels) = Data(4);
        using (images)
        using (labels)
        {
            // It counts 4 examples, as two batches of 2 would hold, and gives 1 and 3.
            var source = new UnevenSource(new InMemoryBatchSource(images, labels, Model));
            int steps = 0;
            var error = Assert.Throws<ArgumentException>(() => new BnInceptionTrainer(Model, Options() with { Epochs = 1, BatchSize = 2, ValidationFraction = 0 })
                .Fit(source, onStep: _ => steps++).Dispose());
            Assert.That(error!.Message, Does.StartWith("A training batch of 1 image (row ").And.Contain("at least two images"));
            Assert.That(steps, Is.Zero, "no step was taken on it");
        }
    }

    /// <summary>Gives its source's examples as a batch of one and a batch of the rest.</summary>
    private sealed class UnevenSource(ILabelledBatchSource inner) : ILabelledBatchSource
    {
        public long Count => inner.Count;

        public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch, CancellationToken cancellationToken)
        {
            using LabelledBatch all = inner.ReadBatches((int)Count, shuffleSeed, 0, dropLastBatch, cancellationToken).Single();
            long count = all.Images.size(0);
            yield return new LabelledBatch(all.Images.narrow(0, 0, 1), all.Labels.narrow(0, 0, 1), [all.Rows[0]]);
            yield return new LabelledBatch(all.Images.narrow(0, 1, count - 1), all.Labels.narrow(0, 1, count - 1), [.. all.Rows.Skip(1)]);
        }
    }
}
