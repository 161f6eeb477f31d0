using System.Diagnostics;
using MLNet.BNInception.Models;
using MLNet.BNInception.Torch;
using MLNet.BNInception.Torch.Optim;
using F = MLNet.BNInception.Torch.torch.nn.functional;

namespace MLNet.BNInception.Training;

/// <summary>One training run, started fresh or from a checkpoint: the loop behind <see cref="BnInceptionTrainer"/>.</summary>
internal sealed class TrainingRun(
    BnInceptionOptions modelOptions, TrainerOptions options, Action<TrainingProgress>? onStep, Action<EpochMetrics>? onEpoch,
    CancellationToken cancellationToken)
{
    private TrainingState _state = new();

    public TrainingResult Run(Tensor images, Tensor labels, Tensor? validationImages, Tensor? validationLabels, TrainingCheckpoint.Loaded? checkpoint)
    {
        BnInceptionTrainer.CheckData(modelOptions, images, labels, "training");
        if ((validationImages is null) != (validationLabels is null))
        {
            throw new ArgumentException("Give both validation images and validation labels, or neither.");
        }

        if (validationImages is not null)
        {
            BnInceptionTrainer.CheckData(modelOptions, validationImages, validationLabels!, "validation");
        }

        using DisposeScope dataScope = torch.NewDisposeScope();
        // Everything random hangs off the seed: first the validation split, then the training stream.
        torch.manual_seed(options.Seed);
        (Tensor trainImages, Tensor trainLabels, Tensor? valImages, Tensor? valLabels) = Split(images, labels, validationImages, validationLabels);
        long count = trainImages.size(0);
        int stepsPerEpoch = StepsPerEpoch(count);
        if (options.EarlyStopping is not null && valImages is null)
        {
            throw new ArgumentException("EarlyStopping needs validation data: pass a validation set or set ValidationFraction.");
        }

        var model = new BnInception(modelOptions, options.Seed);
        Dictionary<string, Tensor>? best = null;
        Tensor? epochOrder = null;
        try
        {
            using var optimizer = new SGD(ParameterGroups(model), options.LearningRate, options.Momentum, weight_decay: options.WeightDecay,
                nesterov: options.Nesterov);
            if (checkpoint is not null)
            {
                model.load_state_dict(checkpoint.Section("model."));
                optimizer.load_state_dict(checkpoint.Section("optimizer."));
                List<KeyValuePair<string, Tensor>> savedBest = checkpoint.Section("best.").ToList();
                best = savedBest.Count > 0 ? savedBest.ToDictionary(p => p.Key, p => p.Value.clone().DetachFromDisposeScope()) : null;
                _state = checkpoint.State;
                torch.set_rng_state(checkpoint.RngState);
                // Present whenever the checkpoint was taken inside an epoch, even before its first
                // batch: the order was drawn already, and drawing again would change the stream.
                epochOrder = checkpoint.EpochOrder?.clone().DetachFromDisposeScope();
            }

            model.train();
            var clock = Stopwatch.StartNew();
            long sessionImages = 0, sessionSteps = 0;
            StopReason reason = StopReason.Completed;
            for (; _state.Epoch < options.Epochs; _state.Epoch++)
            {
                epochOrder ??= torch.randperm(count).DetachFromDisposeScope();
                for (; _state.NextBatch < stepsPerEpoch; _state.NextBatch++)
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        SaveCheckpoint(model, optimizer, best, epochOrder);
                        cancellationToken.ThrowIfCancellationRequested();
                    }

                    using DisposeScope stepScope = torch.NewDisposeScope();
                    long start = (long)_state.NextBatch * options.BatchSize;
                    Tensor indices = epochOrder.narrow(0, start, Math.Min(options.BatchSize, count - start));
                    Tensor batch = trainImages.index_select(0, indices);
                    Tensor targets = trainLabels.index_select(0, indices);
                    if (options.Augmentation.Enabled)
                    {
                        batch = ImageAugmenter.Augment(batch, options.Augmentation);
                    }

                    double lr = options.LearningRate * options.Schedule.Factor(_state.Epoch + ((double)_state.NextBatch / stepsPerEpoch), options.Epochs);
                    foreach (ParamGroup group in optimizer.param_groups)
                    {
                        group.LearningRate = lr;
                    }

                    Tensor logits = model.call(batch);
                    Tensor loss = F.cross_entropy(logits, targets, label_smoothing: options.LabelSmoothing);
                    double lossValue = loss.item<double>();
                    if (!double.IsFinite(lossValue))
                    {
                        throw Diverged(lossValue, lr);
                    }

                    optimizer.zero_grad();
                    loss.backward();
                    optimizer.step();

                    long correct = logits.argmax(1).eq(targets).sum().item<long>();
                    long batchCount = indices.size(0);
                    _state.Step++;
                    _state.EpochLossSum += lossValue;
                    _state.EpochBatches++;
                    _state.EpochCorrect += correct;
                    _state.EpochSeen += batchCount;
                    sessionImages += batchCount;
                    sessionSteps++;
                    if (onStep is not null)
                    {
                        double seconds = clock.Elapsed.TotalSeconds;
                        long remainingSteps = ((long)options.Epochs * stepsPerEpoch) - _state.Step;
                        onStep(new TrainingProgress(_state.Epoch + 1, _state.Step, _state.NextBatch + 1, stepsPerEpoch, lossValue,
                            (double)correct / batchCount, lr, sessionImages / seconds, TimeSpan.FromSeconds(remainingSteps * seconds / sessionSteps)));
                    }
                }

                epochOrder.Dispose();
                epochOrder = null;
                bool stop = EndEpoch(model, valImages, valLabels, ref best, optimizer);
                if (stop)
                {
                    reason = StopReason.EarlyStopped;
                    _state.Epoch++;
                    break;
                }
            }

            if (best is not null)
            {
                model.load_state_dict(best);
            }

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
            epochOrder?.Dispose();
            if (best is not null)
            {
                foreach (Tensor tensor in best.Values)
                {
                    tensor.Dispose();
                }
            }
        }
    }

    private bool EndEpoch(BnInception model, Tensor? valImages, Tensor? valLabels, ref Dictionary<string, Tensor>? best, SGD optimizer)
    {
        double? valLoss = null, valAccuracy = null;
        if (valImages is not null)
        {
            (double loss, double accuracy) = BnInceptionTrainer.Evaluate(model, valImages, valLabels!);
            valLoss = loss;
            valAccuracy = accuracy;
        }

        double lr = optimizer.param_groups[0].LearningRate!.Value;
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
                best = CopyInto(best, model.state_dict());
            }
            else
            {
                _state.EpochsWithoutImprovement++;
                stop = options.EarlyStopping is not null && _state.EpochsWithoutImprovement >= options.EarlyStopping.Patience;
            }
        }

        // The checkpoint records the next epoch as the one to run.
        _state.Epoch++;
        SaveCheckpoint(model, optimizer, best, epochOrder: null);
        _state.Epoch--;
        onEpoch?.Invoke(metrics);
        return stop;
    }

    private void SaveCheckpoint(BnInception model, SGD optimizer, Dictionary<string, Tensor>? best, Tensor? epochOrder)
    {
        if (options.CheckpointPath is null)
        {
            return;
        }

        IReadOnlyList<KeyValuePair<string, Tensor>> optimizerState = optimizer.state_dict();
        try
        {
            TrainingCheckpoint.Save(options.CheckpointPath, modelOptions, options, _state, model.state_dict(), optimizerState, best, epochOrder);
        }
        finally
        {
            foreach (KeyValuePair<string, Tensor> pair in optimizerState)
            {
                pair.Value.Dispose();
            }
        }
    }

    private static Dictionary<string, Tensor> CopyInto(Dictionary<string, Tensor>? target, IEnumerable<KeyValuePair<string, Tensor>> source)
    {
        target ??= [];
        using IDisposable noGrad = torch.no_grad();
        foreach ((string key, Tensor value) in source)
        {
            if (target.TryGetValue(key, out Tensor? existing))
            {
                existing.copy_(value);
            }
            else
            {
                target[key] = value.detach().clone().DetachFromDisposeScope();
            }
        }

        return target;
    }

    private TrainingDivergedException Diverged(double loss, double lr)
    {
        string checkpointNote = options.CheckpointPath is null
            ? "No checkpoint was being written."
            : $"The last checkpoint, {options.CheckpointPath}, is from before this step and intact.";
        return new TrainingDivergedException(
            $"Training diverged: the loss became {loss} at step {_state.Step + 1} (epoch {_state.Epoch + 1}, learning rate {lr:G4}). " +
            $"{checkpointNote} Lower the learning rate or check the input data.")
        {
            Step = _state.Step + 1,
            LearningRate = lr,
        };
    }

    private int StepsPerEpoch(long count)
    {
        long remainder = count % options.BatchSize;
        if (!options.DropLastBatch && remainder == 1)
        {
            throw new ArgumentException(
                $"{count} training images in batches of {options.BatchSize} leave a last batch of 1 image, which batch normalization " +
                "cannot train on. Set DropLastBatch or change BatchSize.");
        }

        long steps = options.DropLastBatch ? count / options.BatchSize : (count + options.BatchSize - 1) / options.BatchSize;
        if (steps == 0)
        {
            throw new ArgumentException($"{count} training images do not fill one batch of {options.BatchSize} with DropLastBatch set.");
        }

        return checked((int)steps);
    }

    private (Tensor Images, Tensor Labels, Tensor? ValImages, Tensor? ValLabels) Split(Tensor images, Tensor labels, Tensor? valImages, Tensor? valLabels)
    {
        if (valImages is not null || options.ValidationFraction == 0)
        {
            return (images, labels, valImages, valLabels);
        }

        long count = images.size(0);
        long held = (long)Math.Round(count * options.ValidationFraction);
        if (held < 1 || count - held < 2)
        {
            throw new ArgumentException($"ValidationFraction {options.ValidationFraction} of {count} images leaves no usable split.");
        }

        Tensor order = torch.randperm(count);
        Tensor valIndices = order.narrow(0, 0, held);
        Tensor trainIndices = order.narrow(0, held, count - held);
        return (images.index_select(0, trainIndices), labels.index_select(0, trainIndices),
            images.index_select(0, valIndices), labels.index_select(0, valIndices));
    }

    // Weight decay goes on convolution and linear weights; BN's γ and β and all biases are exempt
    // unless DecayBatchNormAndBias is set.
    private IEnumerable<ParamGroup> ParameterGroups(BnInception model)
    {
        var decayed = new List<Tensor>();
        var exempt = new List<Tensor>();
        foreach ((string name, Tensor parameter) in model.named_parameters())
        {
            bool isWeightOfConvOrLinear = name.EndsWith("conv.weight", StringComparison.Ordinal) || name == "fc.weight";
            (isWeightOfConvOrLinear || options.DecayBatchNormAndBias ? decayed : exempt).Add(parameter);
        }

        yield return new ParamGroup(decayed);
        yield return new ParamGroup(exempt) { WeightDecay = 0 };
    }
}
