using MLNet.BNInception.Data;
using MLNet.BNInception.Models;
using MLNet.BNInception.Torch;
using MLNet.BNInception.Training;

namespace MLNet.BNInception.Trainers;

/// <summary>
/// Trains BN-Inception as a pipeline step (ML.NET's trainer estimators): reads the label keys and
/// pixel vectors once, trains with the engine's SGD recipe (SPEC.md §3), and returns a
/// <see cref="BnInceptionPredictionTransformer"/> that appends <c>Score</c> and <c>PredictedLabel</c>.
/// </summary>
public sealed class BnInceptionMulticlassTrainer : IEstimator<BnInceptionPredictionTransformer>
{
    private const string Source = "BnInception";
    private readonly MLContext _context;

    internal BnInceptionMulticlassTrainer(MLContext context, Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _context = context;
        TrainerOptions = options;
        _ = options.ToEngineOptions(0);
    }

    /// <summary>The settings.</summary>
    public Options TrainerOptions { get; }

    /// <summary>Trains on <paramref name="input"/> (validation per <see cref="Options.ValidationFraction"/>).</summary>
    public BnInceptionPredictionTransformer Fit(IDataView input) => Fit(input, null);

    /// <summary>
    /// Trains on <paramref name="trainData"/>, validating every epoch on <paramref name="validationData"/>.
    /// The schema is checked before any row is read; then every row is checked (missing label,
    /// non-finite pixel) before training starts.
    /// </summary>
    /// <exception cref="ArgumentException">A missing column, a wrong type or size; nothing was read.</exception>
    /// <exception cref="InvalidDataException">A bad row, an empty set or a single class; nothing was trained.</exception>
    /// <exception cref="OperationCanceledException"><see cref="MLContext.CancelExecution"/> was called.</exception>
    public BnInceptionPredictionTransformer Fit(IDataView trainData, IDataView? validationData)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        Options options = TrainerOptions;
        FeatureShape shape = FeatureShape.Check(trainData.Schema, options.FeatureColumnName);
        IReadOnlyList<string> classes = CheckLabel(trainData.Schema, options.LabelColumnName);
        if (validationData is not null)
        {
            FeatureShape validationShape = FeatureShape.Check(validationData.Schema, options.FeatureColumnName);
            if (validationShape != shape)
            {
                throw new ArgumentException($"the validation set's '{options.FeatureColumnName}' is {validationShape}, the training set's {shape}", nameof(validationData));
            }

            if (!CheckLabel(validationData.Schema, options.LabelColumnName).SequenceEqual(classes))
            {
                throw new ArgumentException($"the validation set's '{options.LabelColumnName}' keys differ from the training set's; map both with the same MapValueToKey transformer",
                    nameof(validationData));
            }
        }

        CancellationToken token = _context.StartOperation();
        using DisposeScope scope = torch.NewDisposeScope();
        (Tensor images, Tensor labels, long[] labelValues) = ReadTensors(trainData, shape, "training", token);
        CheckClasses(labelValues, classes);
        Tensor? validationImages = null, validationLabels = null;
        if (validationData is not null)
        {
            (validationImages, validationLabels, _) = ReadTensors(validationData, shape, "validation", token);
        }

        var modelOptions = new BnInceptionOptions
        {
            NumClasses = classes.Count,
            InputSize = shape.Size,
            InputChannels = shape.Channels,
            BatchNorm = options.BatchNorm,
            Activation = options.Activation,
            Dropout = options.Dropout,
        };
        ulong seed = options.Seed ?? (ulong)(uint)(_context.Seed ?? _context.NextSeed());
        var trainer = new BnInceptionTrainer(modelOptions, options.ToEngineOptions(seed));
        _context.WriteLog(Source, ChannelMessageKind.Info,
            $"training on {images.size(0)} images of {shape}, {classes.Count} classes, {options.Epochs} epochs of batch {options.BatchSize}");
        bool resume = options.ResumeFromCheckpoint && options.CheckpointPath is { } checkpoint && File.Exists(checkpoint);
        if (resume)
        {
            _context.WriteLog(Source, ChannelMessageKind.Info, $"resuming from {options.CheckpointPath}");
        }

        void OnStep(TrainingProgress progress)
        {
            _context.WriteLog(Source, ChannelMessageKind.Trace,
                $"epoch {progress.Epoch} step {progress.StepInEpoch}/{progress.StepsPerEpoch}: loss {progress.Loss:F4}, {progress.ImagesPerSecond:F0} images/s");
            options.OnStep?.Invoke(progress);
        }

        void OnEpoch(EpochMetrics epoch)
        {
            _context.WriteLog(Source, ChannelMessageKind.Info, $"epoch {epoch.Epoch}: train loss {epoch.TrainLoss:F4}, accuracy {epoch.TrainAccuracy:P1}" +
                (epoch.ValidationLoss is { } loss ? $"; validation loss {loss:F4}, accuracy {epoch.ValidationAccuracy:P1}" : ""));
            options.OnEpoch?.Invoke(epoch);
        }

        TrainingResult result = resume
            ? BnInceptionTrainer.Resume(options.CheckpointPath!, images, labels, validationImages, validationLabels, OnStep, OnEpoch, token)
            : trainer.Fit(images, labels, validationImages, validationLabels, OnStep, OnEpoch, token);

        // The transformer takes over the result's network (the result owns nothing else).
        try
        {
            return new BnInceptionPredictionTransformer(result.Model, classes, options.LabelColumnName, options.FeatureColumnName, options.ScoringBatchSize,
                options.FoldBatchNorm, result.History);
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    private static IReadOnlyList<string> CheckLabel(DataViewSchema schema, string labelColumnName)
    {
        DataViewSchema.Column label = schema.GetColumnOrNull(labelColumnName) ??
            throw new ArgumentException($"there is no label column '{labelColumnName}'; the columns are {schema.Describe()}");
        if (label.Type is not KeyDataViewType key)
        {
            throw new ArgumentException($"the label column '{labelColumnName}' is {label.Type}; map it to keys first with MapValueToKey(\"{labelColumnName}\")");
        }

        if (key.Count < 2)
        {
            throw new ArgumentException($"the label column '{labelColumnName}' has a single class ('{label.KeyValues?[0]}'); classification needs at least two");
        }

        return label.KeyValues ?? [.. Enumerable.Range(1, (int)key.Count).Select(k => k.ToString(System.Globalization.CultureInfo.InvariantCulture))];
    }

    private static void CheckClasses(long[] labels, IReadOnlyList<string> classes)
    {
        long[] present = [.. labels.Distinct().Take(2)];
        if (present.Length < 2)
        {
            throw new InvalidDataException($"every training row has the label '{classes[(int)present[0]]}'; classification needs at least two classes");
        }
    }

    private (Tensor Images, Tensor Labels, long[] LabelValues) ReadTensors(IDataView data, FeatureShape shape, string role, CancellationToken token)
    {
        Options options = TrainerOptions;
        DataViewSchema.Column labelColumn = data.Schema[options.LabelColumnName];
        DataViewSchema.Column featureColumn = data.Schema[options.FeatureColumnName];
        var rows = new List<float[]>();
        var labels = new List<long>();
        using (DataViewRowCursor cursor = data.GetRowCursor([labelColumn, featureColumn]))
        {
            ValueGetter<uint> labelGetter = cursor.GetGetter<uint>(labelColumn);
            ValueGetter<VBuffer<float>> featureGetter = cursor.GetGetter<VBuffer<float>>(featureColumn);
            while (cursor.MoveNext())
            {
                token.ThrowIfCancellationRequested();
                uint key = 0;
                labelGetter(ref key);
                if (key == 0)
                {
                    throw new InvalidDataException($"{role} row {cursor.Position}: the label '{options.LabelColumnName}' is missing");
                }

                VBuffer<float> features = default;
                featureGetter(ref features);
                ReadOnlySpan<float> values = features.GetValues();
                if (values.Length != shape.Length)
                {
                    throw new InvalidDataException($"{role} row {cursor.Position}: '{options.FeatureColumnName}' has {values.Length} values, expected {shape.Length}");
                }

                int bad = values.IndexOfAnyExceptInRange(float.MinValue, float.MaxValue);
                if (bad >= 0)
                {
                    throw new InvalidDataException($"{role} row {cursor.Position}: '{options.FeatureColumnName}' value {bad} is {values[bad]}");
                }

                rows.Add(features.SharedArrayOrCopy());
                labels.Add(key - 1);
                if (rows.Count % 1000 == 0)
                {
                    _context.WriteLog(Source, ChannelMessageKind.Trace, $"read {rows.Count} {role} rows");
                }
            }
        }

        if (rows.Count == 0)
        {
            throw new InvalidDataException($"the {role} data has no rows");
        }

        Tensor images = torch.zeros([rows.Count, shape.Channels, shape.Size, shape.Size]);
        Span<float> destination = images.AsSpan<float>();
        for (int i = 0; i < rows.Count; i++)
        {
            rows[i].CopyTo(destination.Slice(i * shape.Length, shape.Length));
        }

        _context.WriteLog(Source, ChannelMessageKind.Info, $"read {rows.Count} {role} rows");
        long[] labelValues = [.. labels];
        return (images, torch.tensor(labelValues), labelValues);
    }

    /// <summary>
    /// The trainer's settings. Defaults follow the engine (<see cref="Training.TrainerOptions"/>):
    /// the paper's BN-x30 learning rate, momentum 0.9, weight decay reduced 5×, exponential decay,
    /// random-resized-crop and flip augmentation.
    /// </summary>
    public sealed class Options
    {
        private static readonly TrainerOptions EngineDefaults = new();

        /// <summary>The key column of classes.</summary>
        public string LabelColumnName { get; set; } = "Label";

        /// <summary>The planar pixel vector (channels × side × side floats, from ExtractPixels).</summary>
        public string FeatureColumnName { get; set; } = "Features";

        /// <summary>Passes over the training data.</summary>
        public int Epochs { get; set; } = EngineDefaults.Epochs;

        /// <summary>Images per SGD step.</summary>
        public int BatchSize { get; set; } = EngineDefaults.BatchSize;

        /// <summary>Initial learning rate.</summary>
        public double LearningRate { get; set; } = EngineDefaults.LearningRate;

        /// <summary>SGD momentum.</summary>
        public double Momentum { get; set; } = EngineDefaults.Momentum;

        /// <summary>Nesterov momentum.</summary>
        public bool Nesterov { get; set; } = EngineDefaults.Nesterov;

        /// <summary>L2 weight decay.</summary>
        public double WeightDecay { get; set; } = EngineDefaults.WeightDecay;

        /// <summary>How the learning rate changes over training.</summary>
        public LearningRateSchedule Schedule { get; set; } = EngineDefaults.Schedule;

        /// <summary>Label smoothing of the cross-entropy.</summary>
        public double LabelSmoothing { get; set; } = EngineDefaults.LabelSmoothing;

        /// <summary>Training-time augmentation.</summary>
        public AugmentationOptions Augmentation { get; set; } = EngineDefaults.Augmentation;

        /// <summary>Share of the training data held out for validation when no validation set is given.</summary>
        public double ValidationFraction { get; set; } = EngineDefaults.ValidationFraction;

        /// <summary>Stop when validation stops improving, keeping the best weights; null to train every epoch.</summary>
        public EarlyStoppingOptions? EarlyStopping { get; set; } = EngineDefaults.EarlyStopping;

        /// <summary>Where to write a resumable checkpoint after every epoch and on cancellation; null for none.</summary>
        public string? CheckpointPath { get; set; } = EngineDefaults.CheckpointPath;

        /// <summary>
        /// Continue the run saved at <see cref="CheckpointPath"/> when that file exists (same data, the
        /// settings it was started with), as if it had never stopped; otherwise train from scratch.
        /// </summary>
        public bool ResumeFromCheckpoint { get; set; }

        /// <summary>The training seed; null uses the context's seed.</summary>
        public ulong? Seed { get; set; }

        /// <summary>BN layers (the paper); false gives the Inception baseline without BN.</summary>
        public bool BatchNorm { get; set; } = true;

        /// <summary>The nonlinearity.</summary>
        public Activation Activation { get; set; } = Activation.Relu;

        /// <summary>Dropout before the classifier (the paper removes it with BN: 0).</summary>
        public double Dropout { get; set; }

        /// <summary>Images per forward pass when scoring.</summary>
        public int ScoringBatchSize { get; set; } = 64;

        /// <summary>Fold BN into the convolutions for scoring.</summary>
        public bool FoldBatchNorm { get; set; } = true;

        /// <summary>Called after every step.</summary>
        public Action<TrainingProgress>? OnStep { get; set; }

        /// <summary>Called after every epoch.</summary>
        public Action<EpochMetrics>? OnEpoch { get; set; }

        internal TrainerOptions ToEngineOptions(ulong seed)
        {
            ArgumentException.ThrowIfNullOrEmpty(LabelColumnName);
            ArgumentException.ThrowIfNullOrEmpty(FeatureColumnName);
            ArgumentOutOfRangeException.ThrowIfLessThan(ScoringBatchSize, 1);
            var options = new TrainerOptions
            {
                Epochs = Epochs,
                BatchSize = BatchSize,
                LearningRate = LearningRate,
                Momentum = Momentum,
                Nesterov = Nesterov,
                WeightDecay = WeightDecay,
                Schedule = Schedule,
                LabelSmoothing = LabelSmoothing,
                Augmentation = Augmentation,
                ValidationFraction = ValidationFraction,
                EarlyStopping = EarlyStopping,
                CheckpointPath = CheckpointPath,
                Seed = seed,
            };
            options.Validate();
            return options;
        }
    }
}

/// <summary>The shape of a planar pixel vector: channels × side × side.</summary>
internal sealed record FeatureShape(int Channels, int Size)
{
    public int Length => Channels * Size * Size;

    public override string ToString() => $"{Channels}×{Size}×{Size}";

    public static FeatureShape Check(DataViewSchema schema, string columnName)
    {
        DataViewSchema.Column column = schema.GetColumnOrNull(columnName) ??
            throw new ArgumentException($"there is no feature column '{columnName}'; the columns are {schema.Describe()}");
        if (column.Type is not VectorDataViewType { ItemType: NumberDataViewType item } vector || item != NumberDataViewType.Single || !vector.IsKnownSize)
        {
            throw new ArgumentException($"the feature column '{columnName}' is {column.Type}; BN-Inception needs a fixed-size vector of Single (ExtractPixels with outputAsFloatArray: true)");
        }

        (int channels, int height, int width) = vector.Dimensions.Count == 3
            ? (vector.Dimensions[0], vector.Dimensions[1], vector.Dimensions[2])
            : InferSquare(vector.Size, columnName);
        if (vector.Dimensions.Count == 3 && channels > 4 && vector.Dimensions[2] <= 4)
        {
            throw new ArgumentException($"the feature column '{columnName}' is interleaved ({string.Join("×", vector.Dimensions)}); extract planar pixels (interleavePixelColors: false)");
        }

        if (channels is not (1 or 3) || height != width || !BnInceptionOptions.IsValidInputSize(height))
        {
            throw new ArgumentException(
                $"the feature column '{columnName}' holds {channels}×{height}×{width} values; BN-Inception needs 1 or 3 channels of a square side that is a multiple of 32, at least 64 (e.g. ResizeImages to 224×224)");
        }

        return new FeatureShape(channels, height);
    }

    private static (int, int, int) InferSquare(int length, string columnName)
    {
        foreach (int channels in new[] { 3, 1 })
        {
            int side = (int)Math.Round(Math.Sqrt(length / (double)channels));
            if (channels * side * side == length)
            {
                return (channels, side, side);
            }
        }

        throw new ArgumentException($"the feature column '{columnName}' has {length} values, which is not 1 or 3 channels of a square image");
    }
}
