using System.Globalization;
using MLNet.BNInception.Engine.Network;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// Trains BN-Inception with mini-batch SGD the way the paper does (docs/paper.md §3): thorough
/// reshuffling every epoch, the BN learning rates, reduced L2, fast exponential decay. It validates
/// every epoch, can stop early keeping the best weights, writes atomic checkpoints from which a run
/// resumes exactly, stops with a clear error when the loss diverges, and honours cancellation
/// within one batch. Data comes from an <see cref="ILabelledBatchSource"/> (or two tensors), a batch
/// at a time. Given a seed and one thread (<c>torch.set_num_threads(1)</c>), runs are bit-identical,
/// whatever else the process does meanwhile: a run draws from a random generator of its own, not
/// from libtorch's global one (docs/engine.md, "The network").
/// </summary>
public sealed class BnInceptionTrainer
{
    /// <summary>The examples of one evaluation batch (of one rank's, in a data-parallel run).</summary>
    internal const int EvaluationBatchSize = 64;

    /// <summary>Creates a trainer for a network of <paramref name="modelOptions"/>.</summary>
    /// <exception cref="ArgumentException">A setting is out of range; the message names it.</exception>
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
    /// Trains a new network on <paramref name="images"/> (N × C × H × W, float32) and
    /// <paramref name="labels"/> (N int64 class indices). The images, training and validation, may be
    /// larger than the network's side S (at least S on each side, square or not): with augmentation
    /// on, the random crop is cut from the whole image and resampled to S × S; without it, and for
    /// validation, each image is resized whole to S × S with the same antialiased bilinear filter.
    /// </summary>
    /// <param name="images">Training images.</param>
    /// <param name="labels">Their classes, 0 to NumClasses − 1.</param>
    /// <param name="validationImages">Held-out images validated after every epoch; null to use <see cref="TrainerOptions.ValidationFraction"/>.</param>
    /// <param name="validationLabels">Their classes.</param>
    /// <param name="onStep">Called for every step, in order, when its loss is read: after each step, or in bursts (<see cref="TrainerOptions.StepsPerHostRead"/>).</param>
    /// <param name="onEpoch">Called after every epoch.</param>
    /// <param name="cancellationToken">Stops training within one batch; a checkpoint is written first when a path is set.</param>
    /// <exception cref="ArgumentException">The data does not fit the network or the settings; nothing was trained.</exception>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    /// <exception cref="OperationCanceledException">Training was cancelled.</exception>
    /// <exception cref="InsufficientMemoryException">The device ran out of memory during a step; the message names the batch size to lower.</exception>
    public TrainingResult Fit(Tensor images, Tensor labels, Tensor? validationImages = null, Tensor? validationLabels = null,
        Action<TrainingProgress>? onStep = null, Action<EpochMetrics>? onEpoch = null, CancellationToken cancellationToken = default) =>
        FitTensors(ModelOptions, Options, images, labels, validationImages, validationLabels, checkpoint: null, onStep, onEpoch, cancellationToken);

    /// <summary>
    /// Trains a new network on batches from <paramref name="train"/>, validating on
    /// <paramref name="validation"/> after every epoch when given. <see cref="TrainerOptions.ValidationFraction"/>
    /// applies to tensors only: with a source, pass the validation source.
    /// </summary>
    /// <exception cref="ArgumentException">The data does not fit the network or the settings; nothing was trained.</exception>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    /// <exception cref="OperationCanceledException">Training was cancelled.</exception>
    /// <exception cref="InsufficientMemoryException">The device ran out of memory during a step; the message names the batch size to lower.</exception>
    public TrainingResult Fit(ILabelledBatchSource train, ILabelledBatchSource? validation = null,
        Action<TrainingProgress>? onStep = null, Action<EpochMetrics>? onEpoch = null, CancellationToken cancellationToken = default)
    {
        if (Options.ValidationFraction > 0)
        {
            throw new ArgumentException("ValidationFraction splits tensors; with a batch source, pass a validation source instead.");
        }

        return new TrainingRun(ModelOptions, Options, onStep, onEpoch, cancellationToken).Run(train, validation, checkpoint: null);
    }

    /// <summary>
    /// Continues the run saved in <paramref name="checkpointPath"/> on the same data, with the options
    /// it was started with, as if it had never stopped. With <paramref name="precision"/>, it continues
    /// in that precision instead (checkpoints hold float32 state in either); with
    /// <paramref name="device"/>, on that device (checkpoints hold the state on the CPU). The run
    /// goes on saving its checkpoints to <paramref name="checkpointPath"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a complete checkpoint of this format.</exception>
    /// <exception cref="CheckpointMismatchException">The checkpoint is a run of another number of MPI ranks, or one stopped inside an epoch after more batches than these images make.</exception>
    public static TrainingResult Resume(string checkpointPath, Tensor images, Tensor labels, Tensor? validationImages = null,
        Tensor? validationLabels = null, Action<TrainingProgress>? onStep = null, Action<EpochMetrics>? onEpoch = null,
        CancellationToken cancellationToken = default, TrainingPrecision? precision = null, string? device = null)
    {
        using TrainingCheckpoint.Loaded checkpoint = TrainingCheckpoint.Load(checkpointPath);
        return FitTensors(checkpoint.Model, Continuing(checkpoint.Trainer, checkpointPath, precision, device), images, labels, validationImages, validationLabels, checkpoint, onStep, onEpoch,
            cancellationToken);
    }

    /// <summary>
    /// Continues the run saved in <paramref name="checkpointPath"/> on batches from the same sources.
    /// With <paramref name="expectedModel"/>, a checkpoint of a network of other classes or another
    /// input is refused before anything is read. With <paramref name="precision"/> or
    /// <paramref name="device"/>, the run continues in that precision or on that device instead of
    /// the one it was started with. The run goes on saving its checkpoints to <paramref name="checkpointPath"/>.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is not a complete checkpoint of this format.</exception>
    /// <exception cref="CheckpointMismatchException">
    /// The checkpoint is a run of another network than <paramref name="expectedModel"/>, or of another number of MPI ranks, or one
    /// stopped inside an epoch after more batches than <paramref name="train"/> makes.
    /// </exception>
    public static TrainingResult Resume(string checkpointPath, ILabelledBatchSource train, ILabelledBatchSource? validation = null,
        Action<TrainingProgress>? onStep = null, Action<EpochMetrics>? onEpoch = null, CancellationToken cancellationToken = default,
        BnInceptionOptions? expectedModel = null, TrainingPrecision? precision = null, string? device = null) =>
        Resume(checkpointPath, train, validation, onStep, onEpoch, cancellationToken, expectedModel, precision, device, dataIfUnrecorded: null);

    // The ML.NET trainer's resume: a checkpoint that records no data (an earlier version's) records
    // dataIfUnrecorded, the rows the run goes on with, in its checkpoints from now on, so that a
    // later resume is checked against them.
    internal static TrainingResult Resume(string checkpointPath, ILabelledBatchSource train, ILabelledBatchSource? validation,
        Action<TrainingProgress>? onStep, Action<EpochMetrics>? onEpoch, CancellationToken cancellationToken,
        BnInceptionOptions? expectedModel, TrainingPrecision? precision, string? device, TrainingData? dataIfUnrecorded)
    {
        using TrainingCheckpoint.Loaded checkpoint = TrainingCheckpoint.Load(checkpointPath);
        if (expectedModel is not null)
        {
            CheckResumes(checkpointPath, checkpoint.Model, checkpoint.Trainer, expectedModel, expectedData: null);
        }

        TrainerOptions options = Continuing(checkpoint.Trainer, checkpointPath, precision, device);
        options = options with { Data = options.Data ?? dataIfUnrecorded };
        return new TrainingRun(checkpoint.Model, options, onStep, onEpoch, cancellationToken).Run(train, validation, checkpoint);
    }

    /// <summary>
    /// Refuses the resume of the run saved in <paramref name="checkpointPath"/> (of <paramref name="saved"/>
    /// and <paramref name="savedTrainer"/>) on data for <paramref name="expectedModel"/>, and, where both
    /// the checkpoint and the caller describe it, on other data than <paramref name="expectedData"/>.
    /// </summary>
    /// <exception cref="CheckpointMismatchException">The checkpoint is of another network or other data; the message says what differs.</exception>
    internal static void CheckResumes(string checkpointPath, BnInceptionOptions saved, TrainerOptions savedTrainer, BnInceptionOptions expectedModel,
        TrainingData? expectedData)
    {
        if (saved.NumClasses != expectedModel.NumClasses || saved.InputChannels != expectedModel.InputChannels || saved.InputSize != expectedModel.InputSize)
        {
            throw new CheckpointMismatchException(
                $"{checkpointPath} is a run of a network for {saved.NumClasses} classes and {saved.InputChannels}x{saved.InputSize}x{saved.InputSize} images; " +
                $"this data has {expectedModel.NumClasses} classes and {expectedModel.InputChannels}x{expectedModel.InputSize}x{expectedModel.InputSize} images. " +
                "Delete the checkpoint or choose another path to start afresh.");
        }

        if (expectedData is not null && savedTrainer.Data is { } savedData && expectedData.DifferenceFrom(savedData) is { } difference)
        {
            throw new CheckpointMismatchException(
                $"{checkpointPath} is a run on other data: {difference}. Resume it on the data it was started with, " +
                "or delete the checkpoint or choose another path to start afresh.");
        }
    }

    // The saved options, with the precision and device the caller chose for the rest of the run. The
    // run goes on saving to the file it was resumed from, never to the path the file records: that is
    // where the run began, which a moved or copied checkpoint (a colleague's, a download) does not own.
    private static TrainerOptions Continuing(TrainerOptions saved, string checkpointPath, TrainingPrecision? precision, string? device)
    {
        TrainerOptions options = saved with { CheckpointPath = checkpointPath, Precision = precision ?? saved.Precision, Device = device ?? saved.Device };
        options.Validate();
        return options;
    }

    /// <summary>
    /// Mean cross-entropy and top-1 accuracy of <paramref name="model"/> in eval mode, on images of at
    /// least the network's side (larger ones are resized whole to it).
    /// </summary>
    public static (double Loss, double Accuracy) Evaluate(BnInception model, Tensor images, Tensor labels) =>
        Evaluate(model, new InMemoryBatchSource(images, labels, model?.Options ?? throw new ArgumentNullException(nameof(model)), "evaluation"));

    /// <summary>
    /// Mean cross-entropy and top-1 accuracy of <paramref name="model"/> in eval mode over one pass of
    /// <paramref name="data"/>, whose images larger than the network's side are resized whole to it.
    /// </summary>
    public static (double Loss, double Accuracy) Evaluate(BnInception model, ILabelledBatchSource data, CancellationToken cancellationToken = default)
    {
        EvaluationSums sums = Sum(model, data, cancellationToken);
        if (sums.Count == 0)
        {
            throw new ArgumentException("There is nothing to evaluate: the data has no examples.", nameof(data));
        }

        return sums.Means;
    }

    /// <summary>
    /// The cross-entropy sum, correct count and example count of <paramref name="model"/> in eval mode
    /// over one pass of <paramref name="data"/>, in batches of <see cref="EvaluationBatchSize"/>; a pass
    /// with no examples, or batches with none (a rank's share of a short global batch), count nothing.
    /// Each batch's loss sum and correct count stay on the device until the pass ends, when they are
    /// read back at once: on a GPU, a read per batch would wait for that batch before the next could be
    /// queued. The loss sum is the batches' float sums added in order, in double.
    /// </summary>
    internal static EvaluationSums Sum(BnInception model, ILabelledBatchSource data, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            Device device = model.Classifier.weight.device;
            using IDisposable inference = inference_mode();
            using DisposeScope sums = NewDisposeScope();  // each batch's loss sum and correct count, until the pass ends
            var lossSums = new List<Tensor>();
            var corrects = new List<Tensor>();
            long count = 0;
            foreach (LabelledBatch batch in data.ReadBatches(EvaluationBatchSize, shuffleSeed: null, skipBatches: 0, dropLastBatch: false, cancellationToken))
            {
                using (batch)
                using (DisposeScope scope = NewDisposeScope())
                {
                    if (batch.Rows.Count == 0)
                    {
                        continue;
                    }

                    model.Options.CheckResizableImageShape(batch.Images.shape, "An evaluation batch's images");
                    // Not waiting for the device: from pageable memory the copy has read its source
                    // when it returns, and from pinned memory libtorch keeps the source until it is done.
                    Tensor targets = batch.Labels.to(device, non_blocking: true);
                    // Images larger than the network's input are resized whole, on the device.
                    Tensor logits = model.call(WholeImageResize.ToSide(batch.Images.to(device, non_blocking: true), model.Options.InputSize));
                    lossSums.Add(F.cross_entropy(logits, targets, reduction: nn.Reduction.Sum).MoveToOuterDisposeScope());
                    corrects.Add(logits.argmax(1).eq(targets).sum().MoveToOuterDisposeScope());
                    count += targets.size(0);
                }
            }

            if (count == 0)
            {
                return new EvaluationSums(0, 0, 0);
            }

            float[] batchLosses = stack(lossSums).cpu().data<float>().ToArray();
            long[] batchCorrects = stack(corrects).cpu().data<long>().ToArray();
            double lossSum = 0;
            foreach (float loss in batchLosses)
            {
                lossSum += loss;
            }

            return new EvaluationSums(lossSum, batchCorrects.Sum(), count);
        }
        finally
        {
            model.train(wasTraining);
        }
    }

    private static TrainingResult FitTensors(BnInceptionOptions model, TrainerOptions options, Tensor images, Tensor labels,
        Tensor? validationImages, Tensor? validationLabels, TrainingCheckpoint.Loaded? checkpoint, Action<TrainingProgress>? onStep,
        Action<EpochMetrics>? onEpoch, CancellationToken cancellationToken)
    {
        if ((validationImages is null) != (validationLabels is null))
        {
            throw new ArgumentException("Give both validation images and validation labels, or neither.");
        }

        ArgumentNullException.ThrowIfNull(images);
        var train = new InMemoryBatchSource(images, labels, model, "training");
        InMemoryBatchSource? validation = validationImages is null ? null : new InMemoryBatchSource(validationImages, validationLabels!, model, "validation");
        if (validation is not null || options.ValidationFraction == 0)
        {
            return new TrainingRun(model, options, onStep, onEpoch, cancellationToken).Run(train, validation, checkpoint);
        }

        // Hold out a seeded random fraction; the same seed holds out the same images on resume.
        long count = train.Count;
        long held = (long)Math.Round(count * options.ValidationFraction);
        if (held < 1 || count - held < 2)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"ValidationFraction {options.ValidationFraction} of {count} images leaves no usable split."));
        }

        using var generator = new Generator(options.Seed);
        using DisposeScope scope = NewDisposeScope();
        // Drawn on the CPU, whose generator the seed is for, then moved to the images: index_select
        // on a GPU tensor takes indices on the GPU only.
        Tensor order = randperm(count, generator: generator).to(images.device);
        Tensor valIndices = order.narrow(0, 0, held);
        Tensor trainIndices = order.narrow(0, held, count - held);
        var heldIn = new InMemoryBatchSource(images.index_select(0, trainIndices), labels.index_select(0, trainIndices), model, "training");
        var heldOut = new InMemoryBatchSource(images.index_select(0, valIndices), labels.index_select(0, valIndices), model, "validation");
        return new TrainingRun(model, options, onStep, onEpoch, cancellationToken).Run(heldIn, heldOut, checkpoint);
    }
}
