using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML;
using MLNet.BNInception.DataViews;
using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Onnx;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Scoring;

namespace MLNet.BNInception.Trainers;

/// <summary>
/// Trains BN-Inception (Ioffe and Szegedy, 2015) on images in an ML.NET pipeline:
/// <c>mlContext.MulticlassClassification.Trainers.BnInception(…)</c>. The label must be a key
/// (<c>MapValueToKey</c>); the features, images as ML.NET's <c>ExtractPixels</c> writes them
/// (planar, 1 or 3 channels, a square side: <see cref="Options.ImageSize"/>). The network's own side
/// (<see cref="Options.InputSize"/>) may be smaller, as in the paper's recipe of crops cut from
/// images kept larger than the network's input: training then cuts its random crops from the whole
/// image (resizes it whole without augmentation), and validation and scoring resize each image
/// whole to the network's side (docs/walkthrough.md, "Images larger than the network's input"). Training streams
/// the data view: every epoch opens a new cursor in a reshuffled order and reads batches, a reader
/// thread running the pipeline's decoding and pixel extraction ahead of the network; the whole set
/// is never materialised (add <c>AppendCacheCheckpoint</c> to cache decoded images).
/// </summary>
public sealed class BnInceptionMulticlassTrainer : IEstimator<BnInceptionPredictionTransformer>
{
    internal BnInceptionMulticlassTrainer(Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Settings = options;
    }

    /// <summary>The settings it trains with.</summary>
    public Options Settings { get; }

    /// <summary>
    /// The columns it adds: Score and PredictedLabel, as ML.NET's multiclass trainers add them. Checks
    /// the label and features columns first, naming a missing or mistyped one. (A schema shape holds
    /// no vector sizes; <see cref="Fit(IDataView)"/> checks the features' size against ImageSize.)
    /// </summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaShape.Column label = inputSchema.FirstOrDefault(column => column.Name == Settings.LabelColumnName);
        if (label.Name is null)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"The input has no label column {Settings.LabelColumnName}.");
        }

        if (!label.IsKey || label.Kind != SchemaShape.Column.VectorKind.Scalar)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"{label.Name} is {label.ItemType}: a key type is expected; map the labels first with MapValueToKey(\"{label.Name}\").");
        }

        SchemaShape.Column features = inputSchema.FirstOrDefault(column => column.Name == Settings.FeatureColumnName);
        if (features.Name is null)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema), $"The input has no features column {Settings.FeatureColumnName}.");
        }

        if (features.Kind != SchemaShape.Column.VectorKind.Vector || features.ItemType != NumberDataViewType.Single)
        {
            throw new ArgumentOutOfRangeException(nameof(inputSchema),
                $"{features.Name} is {features.Kind} of {features.ItemType}: a known-size vector of Single (pixels, as ExtractPixels writes them) is expected.");
        }

        // SchemaShape.Column's constructor is internal to ML.NET, so the two new columns come from an
        // ML.NET multiclass trainer's own output shape, which is exactly what this trainer adds.
        return new MLContext().MulticlassClassification.Trainers.SdcaMaximumEntropy(Settings.LabelColumnName, Settings.FeatureColumnName)
            .GetOutputSchema(inputSchema);
    }

    /// <summary>
    /// Trains on <paramref name="input"/>, validating on a seeded random fraction of its rows when
    /// <c>Training.ValidationFraction</c> is set (chosen by row id, so the view stays shufflable).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or mistyped; nothing was read.</exception>
    /// <exception cref="InvalidDataException">A row has no label or a non-finite pixel; the message names it.</exception>
    /// <exception cref="Images.InvalidImageException">
    /// A row's image cannot be loaded (<c>LoadImagesSafely</c> with <see cref="Images.InvalidImagePolicy.Fail"/>); the message
    /// names the row, column and path, and what ML.NET's cursors threw is its inner exception.
    /// </exception>
    /// <exception cref="OperationCanceledException">The options' cancellation token was cancelled; a checkpoint was written when a path is set.</exception>
    public BnInceptionPredictionTransformer Fit(IDataView input) => Fit(input, validationData: null);

    /// <summary>Trains on <paramref name="trainData"/>, validating on <paramref name="validationData"/> after every epoch.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or mistyped; nothing was read.</exception>
    /// <exception cref="ArgumentException">CurvesPath cannot take training curves (not a .png, no such folder, or it would replace files that are not earlier curves); nothing was read.</exception>
    /// <exception cref="InvalidDataException">A row has no label or a non-finite pixel; the message names it.</exception>
    /// <exception cref="Images.InvalidImageException">
    /// A row's image cannot be loaded (<c>LoadImagesSafely</c> with <see cref="Images.InvalidImagePolicy.Fail"/>); the message
    /// names the row, column and path, and what ML.NET's cursors threw is its inner exception.
    /// </exception>
    /// <exception cref="OperationCanceledException">The options' cancellation token was cancelled; a checkpoint was written when a path is set.</exception>
    public BnInceptionPredictionTransformer Fit(IDataView trainData, IDataView? validationData)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        Options o = Settings;
        o.Validate();
        if (o.CurvesPath is not null && TrainingCurves.CheckPath(o.CurvesPath) is string curves)
        {
            throw new ArgumentException($"CurvesPath: {curves}", nameof(Options.CurvesPath));
        }

        (DataViewSchema.Column features, ImageFeatureLayout layout, LabelKey label) = CheckSchema(trainData.Schema, "training");
        if (validationData is not null)
        {
            (_, ImageFeatureLayout validationLayout, LabelKey validationLabel) = CheckSchema(validationData.Schema, "validation");
            if (validationLayout != layout || !validationLabel.ClassNames.SequenceEqual(label.ClassNames))
            {
                throw new ArgumentOutOfRangeException(null,
                    $"The validation data's classes ({string.Join(", ", validationLabel.ClassNames)}) and images " +
                    $"({validationLayout.Channels}x{validationLayout.Side}x{validationLayout.Side}) differ from the training data's " +
                    $"({string.Join(", ", label.ClassNames)}; {layout.Channels}x{layout.Side}x{layout.Side}). Map both labels with the same " +
                    "fitted MapValueToKey, and prepare both images alike.");
            }
        }

        // Everything that can be refused without reading a row is refused before the counting passes.
        TrainerOptions training = o.Training;
        bool split = validationData is null && training.ValidationFraction > 0;
        if (training.EarlyStopping is not null && validationData is null && !split)
        {
            throw new ArgumentException("EarlyStopping needs validation data: call Fit(train, validation) or set Training.ValidationFraction.");
        }

        BnInceptionOptions architecture = o.Architecture with { NumClasses = label.Count, InputSize = o.NetworkInputSize, InputChannels = layout.Channels };
        var trainer = new BnInceptionTrainer(architecture, training with { ValidationFraction = 0 });
        var ml = new MLContext(seed: unchecked((int)training.Seed));
        int poolSize = o.ShufflePoolSize ?? (int)Math.Clamp((1L << 30) / (4L * layout.Size), 1_000, 100_000);
        using var log = new TrainingLog(o.MLContext, "Training");
        RowSplit? keep = split ? new RowSplit(training.Seed, training.ValidationFraction, HeldOut: false) : null;
        RowSplit? holdOut = split ? keep! with { HeldOut = true } : null;
        var train = new DataViewBatchSource(trainData, o.LabelColumnName, o.FeatureColumnName, layout, label.Count, ml, poolSize, keep, "training", log,
            o.CancellationToken);
        DataViewBatchSource? validation = validationData is null && !split
            ? null
            : new DataViewBatchSource(validationData ?? trainData, o.LabelColumnName, o.FeatureColumnName, layout, label.Count, ml, poolSize, holdOut,
                "validation", log, o.CancellationToken);
        if (train.Count == 0)
        {
            throw new ArgumentException(split
                ? "The training data has no rows left after ValidationFraction's hold-out; lower it or add rows."
                : "The training data has no rows, so there is nothing to train on. A LoadImagesSafely with InvalidImagePolicy.Skip " +
                  "leaves out the rows whose images cannot be loaded: its warnings in the MLContext's log name each row and path.",
                nameof(trainData));
        }

        if (validation is { Count: 0 })
        {
            throw new ArgumentException(split
                ? $"ValidationFraction {training.ValidationFraction} of {train.Count} rows holds out none; raise it or pass validation data."
                : "The validation data has no rows. A LoadImagesSafely with InvalidImagePolicy.Skip leaves out the rows whose images cannot " +
                  "be loaded: its warnings in the MLContext's log name each row and path.",
                nameof(validationData));
        }

        string resized = layout.Side == architecture.InputSize ? "" : string.Create(CultureInfo.InvariantCulture,
            $" for a {architecture.InputSize}x{architecture.InputSize} network input");
        string validated = validation is null ? "" : string.Create(CultureInfo.InvariantCulture, $", {validation.Count} validation rows");
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"BN-Inception: {train.Count} training rows{validated}, {label.Count} classes, {layout.Channels}x{layout.Side}x{layout.Side} images{resized}; " +
            $"{training.Epochs} epochs of batches of {training.BatchSize}, learning rate {training.LearningRate}, {(training.Precision == TrainingPrecision.BFloat16Mixed ? "mixed bfloat16" : "float32")}; " +
            $"{train.ShuffleDescription}."));

        void OnStep(TrainingProgress progress)
        {
            o.OnStep?.Invoke(progress);
            if (progress.StepInEpoch % o.LogEverySteps == 0 || progress.StepInEpoch == progress.StepsPerEpoch)
            {
                log.Info(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {progress.Epoch} step {progress.StepInEpoch}/{progress.StepsPerEpoch}: loss {progress.Loss:F4}, learning rate {progress.LearningRate:G3}, " +
                    $"{progress.ImagesPerSecond:F1} images/s, {progress.Remaining:hh\\:mm\\:ss} left"));
            }
        }

        void OnEpoch(EpochMetrics metrics)
        {
            o.OnEpoch?.Invoke(metrics);
            string validation = metrics.ValidationLoss is double loss
                ? string.Create(CultureInfo.InvariantCulture, $", validation loss {loss:F4}, validation accuracy {metrics.ValidationAccuracy:P2}")
                : "";
            log.Info(string.Create(CultureInfo.InvariantCulture,
                $"epoch {metrics.Epoch}: training loss {metrics.TrainLoss:F4}, training accuracy {metrics.TrainAccuracy:P2}{validation}"));
        }

        TrainingResult result;
        if (o.ResumeFromCheckpoint && training.CheckpointPath is not null && File.Exists(training.CheckpointPath))
        {
            log.Info($"resuming the run saved in {training.CheckpointPath}");
            result = BnInceptionTrainer.Resume(training.CheckpointPath, train, validation, OnStep, OnEpoch, o.CancellationToken, expectedModel: architecture,
                precision: training.Precision, device: training.Device);
        }
        else
        {
            result = trainer.Fit(train, validation, OnStep, OnEpoch, o.CancellationToken);
        }

        // Under mpirun every rank holds the same model (docs/distributed.md); the first writes the files.
        if (o.CurvesPath is not null && Engine.Distributed.MpiWorld.Join().Rank == 0)
        {
            WriteCurves(o.CurvesPath, result, log);
        }

        try
        {
            return new BnInceptionPredictionTransformer(result, features, layout, label, o.Scoring);
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    // The path was checked before training; what can still fail (a full disk, say)
    // must not cost the trained model, so it is reported in the log instead of thrown.
    private static void WriteCurves(string path, TrainingResult result, TrainingLog log)
    {
        try
        {
            TrainingCurves.Save(path, result.History, result.BestEpoch);
            log.Info($"training curves written to {path} and {TrainingCurves.CsvPathFor(path)}");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            log.Warning($"training curves were not written to {path}: {e.Message}");
        }
    }

    private (DataViewSchema.Column Features, ImageFeatureLayout Layout, LabelKey Label) CheckSchema(DataViewSchema schema, string what)
    {
        DataViewSchema.Column label = schema.GetColumnOrNull(Settings.LabelColumnName) ?? throw new ArgumentOutOfRangeException(nameof(schema),
            $"The {what} data has no label column {Settings.LabelColumnName}; set LabelColumnName.");
        DataViewSchema.Column features = schema.GetColumnOrNull(Settings.FeatureColumnName) ?? throw new ArgumentOutOfRangeException(nameof(schema),
            $"The {what} data has no features column {Settings.FeatureColumnName}; set FeatureColumnName, or name ExtractPixels' output so.");
        return (features, ImageFeatureLayout.Of(features, Settings.ImageSize), LabelKey.Of(label));
    }

    /// <summary>
    /// Settings of <see cref="BnInceptionMulticlassTrainer"/>. The defaults are the paper's BN-x30
    /// recipe (docs/paper.md §3) for a CPU: learning rate 0.045, SGD with momentum 0.9, L2 4e-5 on
    /// convolution and classifier weights, exponential decay ×0.96 every 8/6 epochs, no dropout,
    /// batches of 32, 10 epochs, random resized crops and flips, channels-last, on the CPU. Every
    /// engine setting is here: <see cref="Training"/> (all of them), <see cref="Architecture"/>,
    /// <see cref="Scoring"/>; the common ones also have properties of their own.
    /// </summary>
    public sealed class Options
    {
        /// <summary>The label column: a key type with at least 2 classes. Default "Label".</summary>
        public string LabelColumnName { get; set; } = "Label";

        /// <summary>The features column: pixels as ExtractPixels writes them, planar. Default "Features".</summary>
        public string FeatureColumnName { get; set; } = "Features";

        /// <summary>
        /// The side of the square images in the features column (as <c>ResizeImages</c> and
        /// <c>ExtractPixels</c> make them). With <see cref="InputSize"/> null it is also the network's
        /// side, and must then be a multiple of 32, at least 64. With <see cref="InputSize"/> set it
        /// must be at least that (and at most 4096), and each image is resized to the network's side
        /// inside the model. Default 224, the paper's.
        /// </summary>
        public int ImageSize { get; set; } = 224;

        /// <summary>
        /// The side of the network's square input: a multiple of 32, at least 64, and at most
        /// <see cref="ImageSize"/>. Null (default) is <see cref="ImageSize"/>. When smaller than
        /// ImageSize, training with augmentation cuts its random crops from the whole larger image and
        /// resamples them to this side; training without augmentation, validation and scoring resize
        /// each image whole to it (antialiased bilinear); <c>Model.Save</c> writes the resize into the
        /// saved network, so the loaded model takes images of ImageSize too. The model's input column
        /// and its output schema are those of ImageSize either way.
        /// </summary>
        public int? InputSize { get; set; }

        /// <summary>The network's side: <see cref="InputSize"/>, or <see cref="ImageSize"/> when it is null.</summary>
        internal int NetworkInputSize => InputSize ?? ImageSize;

        /// <summary>Every training setting of the engine. Default <see cref="TrainerOptions.PaperBnX30"/>.</summary>
        public TrainerOptions Training { get; set; } = TrainerOptions.PaperBnX30;

        /// <summary>
        /// The network's settings (BN on or off, nonlinearity, dropout, BN's ε and momentum). Its
        /// NumClasses, InputSize and InputChannels are ignored: they come from the label's key type,
        /// <see cref="InputSize"/> (or <see cref="ImageSize"/>) and the features' size. Default: the paper's network.
        /// </summary>
        public BnInceptionOptions Architecture { get; set; } = new();

        /// <summary>How the fitted model scores (batch size, BN folding, bfloat16, device). Default: BN folded, float32, batches of 64.</summary>
        public ScorerOptions Scoring { get; set; } = new();

        /// <summary>Passes over the training data. Shortcut for <see cref="Training"/>.Epochs; default 10.</summary>
        public int Epochs { get => Training.Epochs; set => Training = Training with { Epochs = value }; }

        /// <summary>Images per step, at least 2. Shortcut for <see cref="Training"/>.BatchSize; default 32.</summary>
        public int BatchSize { get => Training.BatchSize; set => Training = Training with { BatchSize = value }; }

        /// <summary>Base learning rate. Shortcut for <see cref="Training"/>.LearningRate; default 0.045 (BN-x30).</summary>
        public double LearningRate { get => Training.LearningRate; set => Training = Training with { LearningRate = value }; }

        /// <summary>Seed of initialisation, shuffling and augmentation. Shortcut for <see cref="Training"/>.Seed; default 0.</summary>
        public ulong Seed { get => Training.Seed; set => Training = Training with { Seed = value }; }

        /// <summary>Checkpoint file, written after every epoch and on cancellation. Shortcut for <see cref="Training"/>.CheckpointPath; default none.</summary>
        public string? CheckpointPath { get => Training.CheckpointPath; set => Training = Training with { CheckpointPath = value }; }

        /// <summary>
        /// Float32, or <see cref="TrainingPrecision.BFloat16Mixed"/>: bfloat16 convolutions on float32
        /// weights, statistics and optimizer, about twice as fast on CPUs with AVX512-BF16. The fitted
        /// model scores with the float32 weights either way (see <see cref="Scoring"/> for bfloat16
        /// scoring). A resumed run goes on in this precision. Shortcut for <see cref="Training"/>.Precision; default Float32.
        /// </summary>
        public TrainingPrecision Precision { get => Training.Precision; set => Training = Training with { Precision = value }; }

        /// <summary>
        /// Where the network trains: "cpu", "cuda" or "cuda:N" (docs/gpu.md). A resumed run goes on on
        /// this device. The fitted model scores on <see cref="Scoring"/>'s device. Shortcut for
        /// <see cref="Training"/>.Device; default "cpu".
        /// </summary>
        public string Device { get => Training.Device; set => Training = Training with { Device = value }; }

        /// <summary>When <see cref="CheckpointPath"/> exists, continue that run instead of starting afresh. Default false.</summary>
        public bool ResumeFromCheckpoint { get; set; }

        /// <summary>
        /// A .png file to draw the training curves to when training ends: loss and accuracy per
        /// epoch, training and validation, with the numbers in a CSV of the same name beside it (see
        /// <see cref="TrainingCurves"/>). The path and its folder are checked before
        /// training. If writing still fails afterwards (a full disk, say), the model is returned
        /// anyway and the failure is a warning in the <see cref="MLContext"/>'s log (without one,
        /// only the missing files show it); <c>SaveTrainingCurves</c> on the fitted model draws them
        /// again from its History. Default none.
        /// </summary>
        public string? CurvesPath { get; set; }

        /// <summary>
        /// The MLContext whose <c>Log</c> receives progress (a line every <see cref="LogEverySteps"/>
        /// steps and every epoch). ML.NET gives a trainer made from its catalog no public way to
        /// reach the MLContext the catalog belongs to, so it is given here. Default none.
        /// </summary>
        public MLContext? MLContext { get; set; }

        /// <summary>Steps between progress lines in the log. Default 50.</summary>
        public int LogEverySteps { get; set; } = 50;

        /// <summary>Called for every step, in order, when its loss is read (see <see cref="TrainerOptions.StepsPerHostRead"/>).</summary>
        public Action<TrainingProgress>? OnStep { get; set; }

        /// <summary>Called after every epoch.</summary>
        public Action<EpochMetrics>? OnEpoch { get; set; }

        /// <summary>Stops training within one batch (writing a checkpoint first when a path is set), with an OperationCanceledException.</summary>
        public CancellationToken CancellationToken { get; set; }

        /// <summary>
        /// Rows in ML.NET's shuffle pool, used when the data view cannot be read in any order (a text
        /// file read directly, say). Null (default) takes as many as fit in 1 GiB of pixels, between
        /// 1,000 and 100,000 (1,783 colour images at 224×224). With <c>AppendCacheCheckpoint</c> before
        /// the trainer the view reshuffles fully instead.
        /// </summary>
        public int? ShufflePoolSize { get; set; }

        internal void Validate()
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(LabelColumnName);
            ArgumentException.ThrowIfNullOrWhiteSpace(FeatureColumnName);
            ArgumentNullException.ThrowIfNull(Training);
            ArgumentNullException.ThrowIfNull(Architecture);
            ArgumentNullException.ThrowIfNull(Scoring);
            if (InputSize is null && BnInceptionOptions.InputSizeProblem(ImageSize, nameof(ImageSize)) is string problem)
            {
                throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize,
                    $"{problem} ImageSize is the network's side while InputSize is null; to keep larger images, set InputSize to the network's side.");
            }

            if (InputSize is int inputSize)
            {
                if (BnInceptionOptions.InputSizeProblem(inputSize, nameof(InputSize)) is string inputProblem)
                {
                    throw new ArgumentOutOfRangeException(nameof(InputSize), inputSize, inputProblem);
                }

                if (ImageSize < inputSize || ImageSize > OnnxExportOptions.MaximumImageSize)
                {
                    throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize,
                        $"ImageSize {ImageSize} does not fit InputSize {inputSize}: the images must be at least the network's side ({inputSize}) " +
                        $"and at most {OnnxExportOptions.MaximumImageSize}; resize them to at least {inputSize}x{inputSize} with ResizeImages, or lower InputSize.");
                }
            }

            if (LogEverySteps < 1)
            {
                throw new ArgumentOutOfRangeException(nameof(LogEverySteps), LogEverySteps, "LogEverySteps must be at least 1.");
            }

            if (ShufflePoolSize < 2)
            {
                throw new ArgumentOutOfRangeException(nameof(ShufflePoolSize), ShufflePoolSize, "ShufflePoolSize must be at least 2 (or null for automatic).");
            }

            Training.Validate();
            Scoring.Validate();
        }
    }
}
