using System.Diagnostics;
using MLNet.BNInception.Engine.Distributed;
using MLNet.BNInception.Engine.Interop;
using MLNet.BNInception.Engine.Network;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// One training run, started fresh or from a checkpoint: the loop behind <see cref="BnInceptionTrainer"/>.
/// Under an MPI launcher with more than one rank it is one rank of a data-parallel run
/// (<see cref="DataParallel"/>, docs/distributed.md); otherwise it trains alone, exactly as it did
/// before data-parallel training existed.
/// </summary>
internal sealed class TrainingRun(
    BnInceptionOptions modelOptions, TrainerOptions options, Action<TrainingProgress>? onStep, Action<EpochMetrics>? onEpoch,
    CancellationToken cancellationToken)
{
    private readonly Stopwatch _clock = new();
    private TrainingState _state = new();
    private long _sessionImages, _sessionSteps;
    private DataParallel? _parallel;
    private Generator? _random;

    // Rank 0 alone writes checkpoints and reports progress; a run of one process is rank 0.
    private bool IsRankZero => _parallel is null || _parallel.Rank == 0;

    private int WorldSize => _parallel?.Size ?? 1;

    public TrainingResult Run(ILabelledBatchSource train, ILabelledBatchSource? validation, TrainingCheckpoint.Loaded? checkpoint)
    {
        ArgumentNullException.ThrowIfNull(train);
        MpiWorld world = MpiWorld.Join();
        world.MarkStoppedTogether(false);
        try
        {
            return RunOnThisRank(world, train, validation, checkpoint);
        }
        catch (Exception error)
        {
            // Stopped where every rank stops (an agreed cancellation or divergence, a check every rank made alike),
            // the ranks are in step; failed or cancelled here alone, others may wait for this one in a collective operation.
            if (_parallel is { StoppedTogether: true } || (_parallel is not null && error is BatchSizeMismatchException))
            {
                world.MarkStoppedTogether(true);
                error.Data[RanksStoppedTogether] = true;
            }
            else
            {
                world.MarkOutOfStep();
            }

            throw;
        }
    }

    /// <summary>The key in <see cref="Exception.Data"/> of an exception every rank of a data-parallel run threw at the same point.</summary>
    internal const string RanksStoppedTogether = "MLNet.BNInception.RanksStoppedTogether";

    private TrainingResult RunOnThisRank(MpiWorld world, ILabelledBatchSource train, ILabelledBatchSource? validation, TrainingCheckpoint.Loaded? checkpoint)
    {
        using DataParallel? parallel = DataParallel.For(world);
        _parallel = parallel;
        RunFiles.CheckWorldSize(checkpoint, WorldSize);
        RunFiles.CheckCheckpointPath(options, writesIt: IsRankZero);

        if (parallel is not null)
        {
            parallel.CheckSameRun(modelOptions, options, train.Count, validation?.Count);
            train = new RankShardedBatchSource(train, parallel.Rank, parallel.Size);
        }

        int stepsPerEpoch = RankShardedBatchSource.StepsPerEpoch(train.Count, options.BatchSize, WorldSize, options.DropLastBatch);
        RunFiles.CheckPosition(checkpoint, stepsPerEpoch);
        if (options.EarlyStopping is not null && validation is null)
        {
            throw new ArgumentException("EarlyStopping needs validation data: pass a validation set or set ValidationFraction.");
        }

        Device device = TorchRuntime.ResolveDevice(options.Device);
        // On the CPU the heap the steps' activations use stays from one step to the next; released
        // last, after the model and the kept weights (KeptHeap).
        using KeptHeap? heap = device.type == DeviceType.CPU ? KeptHeap.Hold() : null;
        // Augmentation and dropout draw from the run's own generator, not libtorch's global one, which
        // another thread's run or model may seed and draw from meanwhile (docs/engine.md, "The network").
        using var random = new Generator(options.Seed);
        _random = random;
        var model = new BnInception(modelOptions, options.Seed) { DropoutGenerator = random };
        Dictionary<string, Tensor>? best = null;
        try
        {
            if (checkpoint is null && options.InitialWeightsPath is not null)
            {
                RunFiles.LoadInitialWeights(model, options.InitialWeightsPath);
            }

            model.UseChannelsLast(options.ChannelsLast).UseBFloat16Compute(options.Precision == TrainingPrecision.BFloat16Mixed).to(device);
            using FlatSgd optimizer = FlatSgd.ForTraining(model, options);
            if (checkpoint is not null)
            {
                _state = RunFiles.Restore(checkpoint, model, optimizer, random, out best);
            }

            if (parallel is not null)
            {
                _state.WorldSize = parallel.Size;
                parallel.BroadcastModel(model, optimizer);
            }

            model.train();
            // Batches are read a few ahead on a thread of their own, in pinned memory for CUDA; each
            // step's loss and correct count stay on the device until the next read (docs/engine.md).
            bool pinMemory = device.type == DeviceType.CUDA;
            using var pending = new StepMetricsBuffer(options.StepsPerHostReadOn(device.type), device);
            _clock.Start();
            // A run resumed from the checkpoint of its early stop stays stopped: its patience is spent, and another epoch would change its model.
            StopReason reason = _state.StoppedEarly(options) ? StopReason.EarlyStopped : StopReason.Completed;
            for (; reason == StopReason.Completed && _state.Epoch < options.Epochs; _state.Epoch++)
            {
                // A run stopped during its epoch's validation resumes there: nothing of the pass is left to read.
                ulong epochSeed = RunSeeds.EpochSeed(options.Seed, _state.Epoch);
                int skipBatches = _state.NextBatch;
                using (var reader = new BatchPrefetcher(
                    token => train.ReadBatches(options.BatchSize, epochSeed, skipBatches, options.DropLastBatch, token),
                    stepsPerEpoch - _state.NextBatch, pinMemory, cancellationToken, singleThreadedReader: device.type == DeviceType.CPU))
                {
                    for (; _state.NextBatch < stepsPerEpoch; _state.NextBatch++)
                    {
                        // Ranks stop together: a rank cancelled alone would leave the others waiting in the next allreduce.
                        bool cancelled = cancellationToken.IsCancellationRequested;
                        if (parallel is not null)
                        {
                            cancelled = parallel.AnyRank(cancelled);
                        }

                        if (cancelled)
                        {
                            ReadPendingSteps(pending, stepsPerEpoch);
                            // Each rank's BN statistics are of its own rows until the epoch's end averages them; being linear,
                            // their average now lets a resumed epoch end as it would have, up to rounding.
                            parallel?.AverageBatchNormStatistics(model);
                            SaveCheckpoint(model, optimizer, best);
                            // None leaves before rank 0's checkpoint is written: a later failure of its own would end the job (MpiWorld).
                            parallel?.WaitForEveryRank();
                            cancellationToken.ThrowIfCancellationRequested();
                            throw new OperationCanceledException("Another rank of the data-parallel run was cancelled.");
                        }

                        LabelledBatch batch;
                        try
                        {
                            batch = NextBatch(reader, train);
                        }
                        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                        {
                            ReadPendingSteps(pending, stepsPerEpoch);
                            SaveCheckpoint(model, optimizer, best);
                            throw;
                        }

                        try
                        {
                            Step(model, optimizer, batch, device, stepsPerEpoch, pending);
                        }
                        catch (Exception error) when (DeviceMemory.IsOutOfMemory(error))
                        {
                            throw DeviceMemory.OutOfMemory(error, device, "TrainerOptions.BatchSize (bninception train --batch)", options.BatchSize);
                        }

                        _state.Step++;
                        if (pending.IsFull)
                        {
                            ReadPendingSteps(pending, stepsPerEpoch);
                        }
                    }
                }

                if (parallel is not null && train is RankShardedBatchSource sharded)
                {
                    // The pass's reader has finished (disposed above): its hash covers the whole pass.
                    parallel.CheckSameRows(sharded.RowsHashOfLastPass, _state.Epoch + 1);
                }

                ReadPendingSteps(pending, stepsPerEpoch);
                if (EndEpoch(model, validation, ref best, optimizer))
                {
                    reason = StopReason.EarlyStopped;
                    _state.Epoch++;
                    break;
                }
            }

            if (best is not null)
            {
                PyTorchStateDict.LoadInto(model, best, source: "the best weights");
            }

            // The caller gets a plain float32 network whichever precision trained it.
            model.UseBFloat16Compute(false);
            parallel?.CheckReplicasIdentical(model);
            int bestEpoch = best is not null ? _state.BestEpoch : _state.History.Count;
            return new TrainingResult(model, _state.History.ToArray(), bestEpoch, reason);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            model.DropoutGenerator = null;
            if (best is not null)
            {
                foreach (Tensor tensor in best.Values)
                {
                    tensor.Dispose();
                }
            }
        }
    }

    // Queues one step on the device; its loss and correct count go into `pending` unread: nothing here waits for the device.
    private void Step(BnInception model, FlatSgd optimizer, LabelledBatch batch, Device device, int stepsPerEpoch, StepMetricsBuffer pending)
    {
        using DisposeScope stepScope = NewDisposeScope();
        modelOptions.CheckResizableImageShape(batch.Images.shape, "A training batch's images");
        TrainingBatchCheck.CheckSize(batch);
        TrainingBatchCheck.CheckLabels(batch, modelOptions.NumClasses);
        if (_parallel is not null)
        {
            // Each rank draws its own augmentation and dropout, from a seed of the run, the rank and
            // the step, so a resumed run draws on every rank what it would have drawn uninterrupted
            // (a checkpoint keeps rank 0's generator state only).
            _random!.manual_seed(RunSeeds.RankStepSeed(options.Seed, _parallel.Rank, _state.Step));
        }

        // From pinned memory (BatchPrefetcher) these copies do not block the host; on the CPU there is no copy.
        Tensor images = batch.Images.to(device, non_blocking: true);
        // A random crop resampled to the input size, or without augmentation the whole image resized
        // to it (nothing at all when the images are that size already).
        images = options.Augmentation.Enabled
            ? ImageAugmenter.Augment(images, options.Augmentation, modelOptions.InputSize, _random)
            : WholeImageResize.ToSide(images, modelOptions.InputSize);

        double lr = options.LearningRate * options.Schedule.Factor(_state.Epoch + ((double)_state.NextBatch / stepsPerEpoch), options.Epochs);
        foreach (FlatSgd.Group group in optimizer.Groups)
        {
            group.LearningRate = lr;
        }

        Tensor targets = batch.Labels.to(device, non_blocking: true);
        Tensor logits = model.call(images);
        Tensor loss = F.cross_entropy(logits, targets, label_smoothing: options.LabelSmoothing);
        optimizer.ZeroGradients();
        loss.backward();
        // Mixed precision: the bfloat16 gradients into the float32 ones, before anything reads them
        // (the ranks' average included).
        optimizer.CollectGradients();
        _parallel?.AverageGradients(optimizer);
        optimizer.Step();
        Tensor correct = logits.argmax(1).eq(targets).sum();
        pending.Add(new PendingStep(_state.Epoch, _state.Step + 1, _state.NextBatch + 1, batch.Rows.Count, lr), loss, correct);
    }

    // The one place the loop waits for the device: the steps since the last read go, in order, into
    // the epoch's sums and the progress reports, and the first non-finite loss stops the run. The
    // throughput and time left are measured at the read, when the device has done every step in it.
    private void ReadPendingSteps(StepMetricsBuffer pending, int stepsPerEpoch)
    {
        IReadOnlyList<ReadStep> steps = pending.Read();
        if (steps.Count == 0)
        {
            return;
        }

        if (_parallel is not null)
        {
            steps = _parallel.Reduce(steps);
        }

        double seconds = _clock.Elapsed.TotalSeconds;
        _sessionImages += steps.Sum(read => read.Step.Images);
        _sessionSteps += steps.Count;
        foreach (ReadStep read in steps)
        {
            if (!float.IsFinite(read.Loss))
            {
                throw TrainingDivergedException.At(read.Step, read.Loss, steps[^1].Step.Step, options.CheckpointPath);
            }

            _state.EpochLossSum += read.Loss;
            _state.EpochBatches++;
            _state.EpochCorrect += read.Correct;
            _state.EpochSeen += read.Step.Images;
            if (onStep is not null && IsRankZero)
            {
                long remainingSteps = ((long)options.Epochs * stepsPerEpoch) - read.Step.Step;
                onStep(new TrainingProgress(read.Step.Epoch + 1, read.Step.Step, read.Step.StepInEpoch, stepsPerEpoch, read.Loss,
                    (double)read.Correct / read.Step.Images, read.Step.LearningRate, _sessionImages / seconds,
                    TimeSpan.FromSeconds(remainingSteps * seconds / _sessionSteps)));
            }
        }
    }

    private static LabelledBatch NextBatch(BatchPrefetcher reader, ILabelledBatchSource train) =>
        reader.Next() ?? throw new InvalidOperationException(
            $"The training source ({train.GetType().Name}) ended a pass early: it reported {train.Count} examples but gave fewer.");

    private bool EndEpoch(BnInception model, ILabelledBatchSource? validation, ref Dictionary<string, Tensor>? best, FlatSgd optimizer)
    {
        // Every rank validates with the averaged statistics, the network the checkpoint will hold.
        _parallel?.AverageBatchNormStatistics(model);
        double? valLoss = null, valAccuracy = null;
        if (validation is not null)
        {
            try
            {
                // Each rank validates its share, and every rank gets the same sums: the stopping decision is the same everywhere.
                (double loss, double accuracy) = _parallel is null
                    ? BnInceptionTrainer.Evaluate(model, validation, cancellationToken)
                    : SharedValidation.Evaluate(_parallel, model, validation, _state.Epoch + 1, cancellationToken);
                valLoss = loss;
                valAccuracy = accuracy;
            }
            catch (Exception e) when ((e is OperationCanceledException && cancellationToken.IsCancellationRequested) || _parallel is { StoppedTogether: true })
            {
                // The epoch's steps are done and kept: a resumed run validates and goes on. Stopped by the ranks together
                // (a cancellation on any rank, or validation rows that differ between ranks), none leaves before the write.
                SaveCheckpoint(model, optimizer, best);
                _parallel?.WaitForEveryRank();
                throw;
            }
        }

        double lr = optimizer.Groups[0].LearningRate;
        var metrics = new EpochMetrics(_state.Epoch + 1, _state.EpochLossSum / _state.EpochBatches, (double)_state.EpochCorrect / _state.EpochSeen,
            valLoss, valAccuracy, lr);
        _state.History.Add(metrics);
        _state.EpochLossSum = 0;
        _state.EpochBatches = 0;
        _state.EpochCorrect = 0;
        _state.EpochSeen = 0;
        _state.NextBatch = 0;

        bool stop = false;
        if (valLoss is not null)
        {
            StoppingMetric metric = options.EarlyStopping?.Metric ?? StoppingMetric.ValidationLoss;
            double value = metric == StoppingMetric.ValidationLoss ? valLoss.Value : valAccuracy!.Value;
            EarlyStoppingOptions rule = options.EarlyStopping ?? new EarlyStoppingOptions { Metric = metric };
            if (_state.BestMetric is null || rule.Improves(value, _state.BestMetric.Value))
            {
                _state.BestMetric = value;
                _state.BestEpoch = metrics.Epoch;
                _state.EpochsWithoutImprovement = 0;
                best = RunFiles.CopyInto(best, model.state_dict());
            }
            else
            {
                _state.EpochsWithoutImprovement++;
                stop = options.EarlyStopping is not null && _state.EpochsWithoutImprovement >= options.EarlyStopping.Patience;
            }
        }

        // The checkpoint records the next epoch as the one to run.
        _state.Epoch++;
        SaveCheckpoint(model, optimizer, best);
        _state.Epoch--;
        // A rank that then fails alone ends the job at its exit (MpiWorld): not before the checkpoint is written.
        _parallel?.WaitForEveryRank();
        if (IsRankZero)
        {
            onEpoch?.Invoke(metrics);
        }

        return stop;
    }

    // Every rank holds the same network and state at a checkpoint; one writes it. Its failure is that rank's own, even
    // in a stop the ranks agreed on: the others wait for the write, so this rank's exit must end the job (MpiWorld).
    private void SaveCheckpoint(BnInception model, FlatSgd optimizer, Dictionary<string, Tensor>? best)
    {
        try
        {
            if (options.CheckpointPath is not null && IsRankZero)
            {
                RunFiles.Save(modelOptions, options, _state, model, optimizer, best, _random!);
            }
        }
        catch when (_parallel is not null)
        {
            _parallel.LeftOutOfStep();
            throw;
        }
    }
}
