using System.Diagnostics;
using System.Globalization;
using MLNet.BNInception.Engine.Distributed;
using MLNet.BNInception.Engine.Interop;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;
using static TorchSharp.torch;

/// <summary>
/// The probe's data-parallel training modes (test/MLNet.BNInception.Engine.Tests/DataParallelTests.cs
/// starts them and checks what they print and write):
/// <list type="bullet">
/// <item><c>dp-step DATA OUT</c>: one step of a network without BN over all of DATA's images, each
/// rank taking half; rank 0 writes the trained weights to OUT.</item>
/// <item><c>dp-train DATA CHECKPOINT</c>: 3 epochs of a network with BN, augmentation on, batch 4 per
/// rank, checkpoints to CHECKPOINT; each rank prints the hash of its trained network.</item>
/// <item><c>dp-kill DATA CHECKPOINT</c>: as dp-train, but rank 1 kills itself with SIGKILL once rank 0
/// has written the checkpoint of epoch 2 and the third epoch is under way.</item>
/// <item><c>dp-cancel DATA CHECKPOINT</c>: as dp-train, but rank 0 cancels its token after the first step
/// of epoch 2, so that both ranks stop together inside that epoch; each prints "cancelled" and exits with 130.</item>
/// <item><c>dp-resume DATA CHECKPOINT</c>: resumes CHECKPOINT on the same data and prints the hash.</item>
/// <item>dp-train and dp-resume: rank 0 also writes the trained network's state dict to TARGET.final.</item>
/// <item><c>dp-order DATA CHECKPOINT</c>: as dp-train, but rank 1's source draws each epoch's order from
/// another seed than rank 0's; the run is to fail at the first epoch's end.</item>
/// <item><c>dp-validation-rows DATA CHECKPOINT</c>: one epoch of dp-train validated on DATA's images, but
/// rank 1's validation source numbers its rows as other rows (as a rank that skipped other images
/// would); the run is to fail at the first epoch's validation.</item>
/// <item><c>dp-cancel-validation DATA CHECKPOINT</c>: one epoch of dp-train validated on DATA's images; rank 1
/// cancels its token as its validation begins, so that both ranks stop together; each prints "cancelled" and
/// exits with 130, or, where rank 0 cannot write CHECKPOINT, rank 0 says so and returns 1.</item>
/// <item><c>dp-cancel-validation-folder-gone DATA CHECKPOINT</c>: dp-cancel-validation, but rank 0 deletes CHECKPOINT's
/// (empty) folder as its validation begins: a folder that was there when training started, so that the checkpoint
/// of the stop cannot be written.</item>
/// </list>
/// DATA is a state dict with <c>images</c> (N × 1 × 64 × 64 float32) and <c>labels</c> (N int64 in 0..2).
/// </summary>
internal static class TrainingProbe
{
    /// <summary>The tiny network of the tests: 64 × 64 grey images of 3 classes.</summary>
    public static BnInceptionOptions Network(bool batchNorm) => new() { NumClasses = 3, InputSize = 64, InputChannels = 1, BatchNorm = batchNorm };

    /// <summary>The dp-train settings: 16 images make 2 global batches of 4 × 2 ranks per epoch.</summary>
    public static TrainerOptions TrainOptions(string checkpoint) => new()
    {
        Epochs = 3,
        BatchSize = 4,
        LearningRate = 0.05,
        Seed = 11,
        CheckpointPath = checkpoint,
    };

    /// <summary>The dp-step settings for <paramref name="batchSize"/> images per rank: one epoch, plain images.</summary>
    public static TrainerOptions StepOptions(int batchSize) => new()
    {
        Epochs = 1,
        BatchSize = batchSize,
        LearningRate = 0.1,
        Seed = 3,
        Augmentation = AugmentationOptions.None,
    };

    public static int Run(MpiWorld world, string mode, string data, string target)
    {
        (Tensor images, Tensor labels) = Load(data);
        using (images)
        using (labels)
        {
            if (mode is "dp-cancel-validation" or "dp-cancel-validation-folder-gone")
            {
                return CancelDuringValidationOnRankOne(world, images, labels, target, removeFolder: mode.EndsWith("-folder-gone", StringComparison.Ordinal));
            }

            if (mode == "dp-cancel")
            {
                try
                {
                    using TrainingResult never = Train(world, images, labels, target, killAfterCheckpointOfEpoch: null, cancelInEpoch: 2);
                }
                catch (OperationCanceledException)
                {
                    Console.WriteLine($"rank {world.Rank}: cancelled");
                    return 130;
                }

                throw new InvalidOperationException("dp-cancel trained to the end");
            }

            TrainingResult result = mode switch
            {
                "dp-step" => new BnInceptionTrainer(Network(batchNorm: false), StepOptions((int)(images.size(0) / world.Size))).Fit(images, labels),
                "dp-train" => Train(world, images, labels, target, killAfterCheckpointOfEpoch: null),
                "dp-kill" => Train(world, images, labels, target, killAfterCheckpointOfEpoch: 2),
                "dp-order" => Train(world, images, labels, target, killAfterCheckpointOfEpoch: null, reseedOnRankOne: true),
                "dp-validation-rows" => TrainValidatingOtherRowsOnRankOne(world, images, labels, target),
                "dp-resume" => BnInceptionTrainer.Resume(target, images, labels, onEpoch: metrics => Report(world, metrics)),
                _ => throw new ArgumentException($"unknown mode {mode}"),
            };

            using (result.Model)
            {
                if (mode == "dp-step" && world.Rank == 0)
                {
                    PyTorchStateDict.Save(result.Model.state_dict(), target);
                }
                else if (mode is "dp-train" or "dp-resume" && world.Rank == 0)
                {
                    PyTorchStateDict.Save(result.Model.state_dict(), target + ".final");
                }

                Console.WriteLine($"rank {world.Rank}: trained {result.History.Count} epochs of a world of {world.Size}, " +
                    $"hash {DataParallel.Hash(result.Model):X16}");
            }
        }

        return 0;
    }

    private static TrainingResult Train(MpiWorld world, Tensor images, Tensor labels, string checkpoint, int? killAfterCheckpointOfEpoch,
        bool reseedOnRankOne = false, int? cancelInEpoch = null)
    {
        using var cancellation = new CancellationTokenSource();
        var options = TrainOptions(checkpoint);
        var model = Network(batchNorm: true);
        var train = new InMemoryBatchSource(images, labels, model, "training");
        ILabelledBatchSource source = world.Rank != 1 ? train
            : killAfterCheckpointOfEpoch is { } epoch ? new KillingSource(train, checkpoint, epoch)
            : reseedOnRankOne ? new ReseededSource(train)
            : train;
        // Progress is reported on rank 0 only: the cancellation reaches rank 1 through the ranks' agreement at the next step.
        return new BnInceptionTrainer(model, options).Fit(source, onEpoch: metrics => Report(world, metrics),
            onStep: progress => { if (progress.Epoch == cancelInEpoch && progress.StepInEpoch == 1) cancellation.Cancel(); },
            cancellationToken: cancellation.Token);
    }

    private static TrainingResult TrainValidatingOtherRowsOnRankOne(MpiWorld world, Tensor images, Tensor labels, string checkpoint)
    {
        var model = Network(batchNorm: true);
        var validation = new InMemoryBatchSource(images, labels, model, "validation");
        return new BnInceptionTrainer(model, TrainOptions(checkpoint) with { Epochs = 1 }).Fit(new InMemoryBatchSource(images, labels, model, "training"),
            world.Rank == 1 ? new RenumberedSource(validation) : validation, onEpoch: metrics => Report(world, metrics));
    }

    private static int CancelDuringValidationOnRankOne(MpiWorld world, Tensor images, Tensor labels, string checkpoint, bool removeFolder)
    {
        using var cancellation = new CancellationTokenSource();
        var model = Network(batchNorm: true);
        var validation = new InMemoryBatchSource(images, labels, model, "validation");
        ILabelledBatchSource rankValidation = world.Rank == 1 ? new CancellingSource(validation, cancellation)
            : removeFolder ? new FolderRemovingSource(validation, Path.GetDirectoryName(checkpoint)!) : validation;
        try
        {
            using TrainingResult never = new BnInceptionTrainer(model, TrainOptions(checkpoint) with { Epochs = 1 }).Fit(
                new InMemoryBatchSource(images, labels, model, "training"), rankValidation,
                onEpoch: metrics => Report(world, metrics), cancellationToken: cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            Console.WriteLine($"rank {world.Rank}: cancelled");
            return 130;
        }
        catch (IOException e)
        {
            // Caught, as a program that goes on would: the world's disposal then decides how the job ends.
            Console.WriteLine($"rank {world.Rank}: the checkpoint could not be written ({e.GetType().Name})");
            return 1;
        }

        throw new InvalidOperationException("dp-cancel-validation trained to the end");
    }

    private static void Report(MpiWorld world, EpochMetrics metrics)
    {
        Console.WriteLine($"rank {world.Rank}: epoch {metrics.Epoch} loss {metrics.TrainLoss.ToString("R", CultureInfo.InvariantCulture)}");
        Console.Out.Flush();
    }

    private static (Tensor Images, Tensor Labels) Load(string path)
    {
        IReadOnlyList<KeyValuePair<string, Tensor>> entries = PyTorchStateDict.Load(path);
        return (entries.Single(pair => pair.Key == "images").Value, entries.Single(pair => pair.Key == "labels").Value);
    }

    /// <summary>A source whose order for a seed is another than its inner source's: that of the next seed.</summary>
    private sealed class ReseededSource(ILabelledBatchSource inner) : ILabelledBatchSource
    {
        public long Count => inner.Count;

        public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch, CancellationToken cancellationToken) =>
            inner.ReadBatches(batchSize, shuffleSeed + 1, skipBatches, dropLastBatch, cancellationToken);
    }

    /// <summary>A source that cancels <paramref name="cancellation"/> as a pass begins, as Ctrl-C on one machine would.</summary>
    private sealed class CancellingSource(ILabelledBatchSource inner, CancellationTokenSource cancellation) : ILabelledBatchSource
    {
        public long Count => inner.Count;

        public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch, CancellationToken cancellationToken)
        {
            cancellation.Cancel();
            return inner.ReadBatches(batchSize, shuffleSeed, skipBatches, dropLastBatch, cancellationToken);
        }
    }

    /// <summary>A source that deletes a folder when its pass begins.</summary>
    private sealed class FolderRemovingSource(ILabelledBatchSource inner, string folder) : ILabelledBatchSource
    {
        public long Count => inner.Count;

        public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch, CancellationToken cancellationToken)
        {
            Directory.Delete(folder);
            return inner.ReadBatches(batchSize, shuffleSeed, skipBatches, dropLastBatch, cancellationToken);
        }
    }

    /// <summary>A source that gives its inner source's batches under other row numbers: other rows, as far as a rank can tell.</summary>
    private sealed class RenumberedSource(ILabelledBatchSource inner) : ILabelledBatchSource
    {
        public long Count => inner.Count;

        public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch, CancellationToken cancellationToken) =>
            inner.ReadBatches(batchSize, shuffleSeed, skipBatches, dropLastBatch, cancellationToken)
                .Select(batch => batch with { Rows = [.. batch.Rows.Select(row => row + 1000)] });
    }

    /// <summary>
    /// A source that, at the start of the pass after epoch <c>epoch</c>, waits until rank 0's
    /// checkpoint says that epoch is done and then kills this process with SIGKILL: the other rank is
    /// in its first step's allreduce by then, or about to be.
    /// </summary>
    private sealed class KillingSource(ILabelledBatchSource inner, string checkpoint, int epoch) : ILabelledBatchSource
    {
        private int _passes;

        public long Count => inner.Count;

        public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch, CancellationToken cancellationToken)
        {
            if (_passes++ == epoch)
            {
                var waited = Stopwatch.StartNew();
                while (CheckpointEpoch() < epoch && waited.Elapsed < TimeSpan.FromSeconds(60))
                {
                    Thread.Sleep(50);
                }

                Console.WriteLine($"rank 1: killing itself in epoch {epoch + 1}");
                Console.Out.Flush();
                Process.GetCurrentProcess().Kill();
            }

            return inner.ReadBatches(batchSize, shuffleSeed, skipBatches, dropLastBatch, cancellationToken);
        }

        private int CheckpointEpoch()
        {
            if (!File.Exists(checkpoint))
            {
                return -1;
            }

            using TrainingCheckpoint.Loaded loaded = TrainingCheckpoint.Load(checkpoint);
            return loaded.State.Epoch;
        }
    }
}
