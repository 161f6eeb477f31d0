using MLNet.BNInception.Models;
using MLNet.BNInception.Torch;
using F = MLNet.BNInception.Torch.torch.nn.functional;

namespace MLNet.BNInception.Training;

/// <summary>
/// Trains BN-Inception with mini-batch SGD the way the paper does (SPEC.md §3): thorough
/// reshuffling every epoch, the BN learning rates, reduced L2, fast exponential decay. It validates
/// every epoch, can stop early keeping the best weights, writes atomic checkpoints from which a run
/// resumes exactly, stops with a clear error when the loss diverges, and honours cancellation
/// within one batch. Given a seed and one thread (<c>torch.set_num_threads(1)</c>), runs are bit-identical.
/// </summary>
public sealed class BnInceptionTrainer
{
    private const int EvaluationBatchSize = 64;

    /// <summary>Creates a trainer for a network of <paramref name="modelOptions"/>.</summary>
    public BnInceptionTrainer(BnInceptionOptions modelOptions, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(modelOptions);
        ArgumentNullException.ThrowIfNull(options);
        modelOptions.Validate();
        options.Validate();
        ModelOptions = modelOptions;
        Options = options;
    }

    /// <summary>The network's architecture.</summary>
    public BnInceptionOptions ModelOptions { get; }

    /// <summary>The training settings.</summary>
    public TrainerOptions Options { get; }

    /// <summary>
    /// Trains a new network on <paramref name="images"/> (N × C × S × S, float32) and
    /// <paramref name="labels"/> (N int64 class indices).
    /// </summary>
    /// <param name="images">Training images.</param>
    /// <param name="labels">Their classes, 0 to NumClasses − 1.</param>
    /// <param name="validationImages">Held-out images validated after every epoch; null to use <see cref="TrainerOptions.ValidationFraction"/>.</param>
    /// <param name="validationLabels">Their classes.</param>
    /// <param name="onStep">Called after every step.</param>
    /// <param name="onEpoch">Called after every epoch.</param>
    /// <param name="cancellationToken">Stops training within one batch; a checkpoint is written first when a path is set.</param>
    /// <exception cref="ArgumentException">The data does not fit the network or the settings; nothing was trained.</exception>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    /// <exception cref="OperationCanceledException">Training was cancelled.</exception>
    public TrainingResult Fit(Tensor images, Tensor labels, Tensor? validationImages = null, Tensor? validationLabels = null,
        Action<TrainingProgress>? onStep = null, Action<EpochMetrics>? onEpoch = null, CancellationToken cancellationToken = default) =>
        new TrainingRun(ModelOptions, Options, onStep, onEpoch, cancellationToken).Run(images, labels, validationImages, validationLabels, checkpoint: null);

    /// <summary>
    /// Continues the run saved in <paramref name="checkpointPath"/> on the same data, with the options
    /// it was started with, as if it had never stopped.
    /// </summary>
    public static TrainingResult Resume(string checkpointPath, Tensor images, Tensor labels, Tensor? validationImages = null,
        Tensor? validationLabels = null, Action<TrainingProgress>? onStep = null, Action<EpochMetrics>? onEpoch = null,
        CancellationToken cancellationToken = default)
    {
        using TrainingCheckpoint.Loaded checkpoint = TrainingCheckpoint.Load(checkpointPath);
        return new TrainingRun(checkpoint.Model, checkpoint.Trainer, onStep, onEpoch, cancellationToken)
            .Run(images, labels, validationImages, validationLabels, checkpoint);
    }

    /// <summary>Mean cross-entropy and top-1 accuracy of <paramref name="model"/> in eval mode.</summary>
    public static (double Loss, double Accuracy) Evaluate(BnInception model, Tensor images, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(model);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using IDisposable noGrad = torch.no_grad();
            double lossSum = 0;
            long correct = 0, count = images.size(0);
            for (long start = 0; start < count; start += EvaluationBatchSize)
            {
                using DisposeScope scope = torch.NewDisposeScope();
                long length = Math.Min(EvaluationBatchSize, count - start);
                Tensor targets = labels.narrow(0, start, length);
                Tensor logits = model.call(images.narrow(0, start, length));
                lossSum += F.cross_entropy(logits, targets, reduction: Reduction.Sum).item<double>();
                correct += logits.argmax(1).eq(targets).sum().item<long>();
            }

            return (lossSum / count, (double)correct / count);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    /// <summary>Checks images and labels against the network before any work, naming what is wrong.</summary>
    internal static void CheckData(BnInceptionOptions model, Tensor images, Tensor labels, string what)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        long[] shape = images.shape;
        if (shape.Length != 4 || shape[1] != model.InputChannels || shape[2] != model.InputSize || shape[3] != model.InputSize)
        {
            throw new ArgumentException(
                $"The {what} images must be N x {model.InputChannels} x {model.InputSize} x {model.InputSize}, got [{string.Join(", ", shape)}].", nameof(images));
        }

        if (images.dtype != ScalarType.Float32)
        {
            throw new ArgumentException($"The {what} images must be float32, not {images.dtype}.", nameof(images));
        }

        if (labels.dtype != ScalarType.Int64 || labels.ndim != 1 || labels.size(0) != shape[0])
        {
            throw new ArgumentException(
                $"The {what} labels must be {shape[0]} int64 class indices, got [{string.Join(", ", labels.shape)}] {labels.dtype}.", nameof(labels));
        }

        long[] values = labels.ToArray<long>();
        int bad = Array.FindIndex(values, label => label < 0 || label >= model.NumClasses);
        if (bad >= 0)
        {
            throw new ArgumentException(
                $"The {what} label at row {bad} is {values[bad]}, outside 0..{model.NumClasses - 1} (NumClasses is {model.NumClasses}).", nameof(labels));
        }
    }
}
