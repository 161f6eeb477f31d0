using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML;
using MLNet.BNInception.DataViews;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.ModelFiles;
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
public sealed partial class BnInceptionMulticlassTrainer : IEstimator<BnInceptionPredictionTransformer>
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
    /// <exception cref="InvalidDataException">A row has no label or a non-finite pixel (the message names it); or, with <c>ResumeFromCheckpoint</c>, the checkpoint is damaged, or of an earlier version's format.</exception>
    /// <exception cref="CheckpointMismatchException">With <c>ResumeFromCheckpoint</c>, the checkpoint is a run on other data or of another number of MPI ranks (see the two-argument Fit).</exception>
    /// <exception cref="Images.InvalidImageException">
    /// A row's image cannot be loaded (<c>LoadImagesSafely</c> with <see cref="Images.InvalidImagePolicy.Fail"/>); the message
    /// names the row, column and path, and what ML.NET's cursors threw is its inner exception.
    /// </exception>
    /// <exception cref="OperationCanceledException">The options' cancellation token was cancelled; a checkpoint was written when a path is set.</exception>
    public BnInceptionPredictionTransformer Fit(IDataView input) => Fit(input, validationData: null);

    /// <summary>Trains on <paramref name="trainData"/>, validating on <paramref name="validationData"/> after every epoch.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or mistyped; nothing was read.</exception>
    /// <exception cref="ArgumentException">CurvesPath cannot take training curves (not a .png, no such folder, or it would replace files that are not earlier curves); nothing was read.</exception>
    /// <exception cref="InvalidDataException">A row has no label or a non-finite pixel (the message names it); or, with <c>ResumeFromCheckpoint</c>, the checkpoint is damaged, or of an earlier version's format.</exception>
    /// <exception cref="CheckpointMismatchException">
    /// With <c>ResumeFromCheckpoint</c>, the checkpoint is a run on other data: other classes, the same classes numbered
    /// otherwise (labels are keyed in the order they first appear), another image size or another validation split, refused before
    /// any row is read; or another number of training rows, refused after the pass that counts them, before any training; or
    /// a run of another number of MPI ranks (docs/distributed.md; an <c>InvalidDataException</c> before this version), or one
    /// stopped inside an epoch after more batches than these rows make. A checkpoint of an earlier version records no data and
    /// is not checked against it: a warning in the log says so.
    /// </exception>
    /// <exception cref="Images.InvalidImageException">
    /// A row's image cannot be loaded (<c>LoadImagesSafely</c> with <see cref="Images.InvalidImagePolicy.Fail"/>); the message
    /// names the row, column and path, and what ML.NET's cursors threw is its inner exception.
    /// </exception>
    /// <exception cref="OperationCanceledException">The options' cancellation token was cancelled; a checkpoint was written when a path is set.</exception>
    public BnInceptionPredictionTransformer Fit(IDataView trainData, IDataView? validationData)
    {
        try
        {
            return FitOnThisRank(trainData, validationData);
        }
        catch (Exception error) when (!error.Data.Contains(TrainingRun.RanksStoppedTogether) && Engine.Distributed.MpiWorld.Join() is { IsDistributed: true } world)
        {
            // Under mpirun, a rank that failed here (a bad row, say) may leave the others waiting for it in
            // training's first collective operation: its process's exit then ends the job (docs/distributed.md).
            world.MarkOutOfStep();
            throw;
        }
    }

    private BnInceptionPredictionTransformer FitOnThisRank(IDataView trainData, IDataView? validationData)
    {
        ArgumentNullException.ThrowIfNull(trainData);
        Options o = Settings;
        o.Validate();
        if (o.CurvesPath is not null && TrainingCurves.CheckPath(o.CurvesPath) is string curves)
        {
            throw new ArgumentException($"CurvesPath: {curves}", nameof(Options.CurvesPath));
        }

        SettingsUsedLater.Check(o);

        (DataViewSchema.Column features, ImageFeatureLayout layout, LabelKey label) = CheckSchema(trainData.Schema, "training");
        SettingsUsedLater.CheckBatchesFitArrays(o, layout, label.Count);
        if (validationData is not null)
        {
            (_, ImageFeatureLayout validationLayout, LabelKey validationLabel) = CheckSchema(validationData.Schema, "validation");
            if (validationLayout != layout || !validationLabel.ClassNames.SequenceEqual(label.ClassNames))
            {
                throw new ArgumentOutOfRangeException(null,
                    $"The validation data's classes ({ClassNameList.First(validationLabel.ClassNames)}) and images " +
                    $"({validationLayout.Channels}x{validationLayout.Side}x{validationLayout.Side}) differ from the training data's " +
                    $"({ClassNameList.First(label.ClassNames)}; {layout.Channels}x{layout.Side}x{layout.Side}). Map both labels with the same " +
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
        var data = new TrainingData(label.ClassNames, validationData is not null ? "validation data of its own"
            : split ? string.Create(CultureInfo.InvariantCulture, $"a ValidationFraction of {training.ValidationFraction:R} of the training rows held out with Seed {training.Seed}")
            : "no validation data");
        bool resuming = o.ResumeFromCheckpoint && training.CheckpointPath is not null && File.Exists(training.CheckpointPath);
        TrainerOptions? saved = null;
        bool finished = false;
        if (resuming)
        {
            // Before the counting passes: a checkpoint of other classes, or of another split, is refused before any row is read.
            (BnInceptionOptions savedModel, saved, TrainingState state) = TrainingCheckpoint.ReadDescription(training.CheckpointPath!);
            BnInceptionTrainer.CheckResumes(training.CheckpointPath!, savedModel, saved, architecture, data);
            finished = state.Epoch >= saved.Epochs || state.StoppedEarly(saved);
        }
        else if (training.InitialWeightsPath is not null)
        {
            SettingsUsedLater.CheckInitialWeights(architecture, training.InitialWeightsPath);
        }

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

        // The rows, counted now, are part of what a resume must match: another list of the same classes would train on.
        data = data with { TrainingRows = train.Count };
        if (saved is not null)
        {
            // The network matched the checkpoint's above; the data is checked again, with its rows.
            BnInceptionTrainer.CheckResumes(training.CheckpointPath!, architecture, saved, architecture, data);
        }

        // A resume runs on the checkpoint's options, DropLastBatch included, whatever these say: a run that left out its
        // lone image goes on so, and the warning is given again, where a fresh run would give it (LeftOutALoneLastImage).
        bool leavesOutLastImage = saved is null
            ? LeavesOutALoneLastImage(train.Count, training)
            : LeftOutALoneLastImage(train.Count, saved, training);
        var trainer = new BnInceptionTrainer(architecture, training with { ValidationFraction = 0, Data = data, DropLastBatch = training.DropLastBatch || leavesOutLastImage });
        if (validation is { Count: 0 })
        {
            throw new ArgumentException(split
                ? $"ValidationFraction {training.ValidationFraction} of {train.Count} rows holds out none; raise it or pass validation data."
                : "The validation data has no rows. A LoadImagesSafely with InvalidImagePolicy.Skip leaves out the rows whose images cannot " +
                  "be loaded: its warnings in the MLContext's log name each row and path.",
                nameof(validationData));
        }

        // Said once the run is sure to train: not before a refusal, nor for a finished run resumed to save its model.
        if (leavesOutLastImage && !finished)
        {
            log.Warning(LoneLastImageLeftOut(train.Count, (saved ?? training).BatchSize));
        }

        if (train.ShufflesInAPool && train.GroupedByLabel && !finished)
        {
            if (o.OnRowsGroupedInAPool is { } warnInOwnWords)
            {
                warnInOwnWords(train.Count, poolSize);
            }
            else
            {
                log.Warning(string.Create(CultureInfo.InvariantCulture,
                    $"The {train.Count} training rows come grouped by label, and the view cannot be read in any order: ML.NET's shuffle pool of {poolSize} rows " +
                    $"mixes only rows near each other, so most batches hold few classes, which trains poorly. AppendCacheCheckpoint right after the text loader " +
                    $"(it holds the paths and labels, not the images) gives a full reshuffle every epoch; so does shuffling the list's lines once."));
            }
        }

        string resized = layout.Side == architecture.InputSize ? "" : string.Create(CultureInfo.InvariantCulture,
            $" for a {architecture.InputSize}x{architecture.InputSize} network input");
        string validated = validation is null ? "" : string.Create(CultureInfo.InvariantCulture, $", {validation.Count} validation rows");
        log.Info(string.Create(CultureInfo.InvariantCulture,
            $"BN-Inception: {train.Count} training rows{validated}, {label.Count} classes, {layout.Channels}x{layout.Side}x{layout.Side} images{resized}; " +
            $"{(saved ?? training).Epochs} epochs of batches of {(saved ?? training).BatchSize}, learning rate {(saved ?? training).LearningRate}{(saved is null ? "" : " (the checkpoint's)")}, " +
            $"{(training.Precision == TrainingPrecision.BFloat16Mixed ? "mixed bfloat16" : "float32")}; " +
            $"{train.ShuffleDescription}."));

        void OnStep(TrainingProgress progress)
        {
            o.OnStep?.Invoke(progress);
            if (progress.StepInEpoch % o.LogEverySteps == 0 || progress.StepInEpoch == progress.StepsPerEpoch)
            {
                log.Info(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {progress.Epoch} step {progress.StepInEpoch}/{progress.StepsPerEpoch}: loss {progress.Loss:F4}, learning rate {progress.LearningRate:G3}, " +
                    $"{progress.ImagesPerSecond:F1} images/s, {Durations.Format(progress.Remaining)} left"));
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
        if (resuming)
        {
            log.Info($"resuming the run saved in {training.CheckpointPath}");
            if (finished)
            {
                // A resume continues the run as it was started, its epochs included: one that ended trains nothing more.
                log.Warning($"the run saved in {training.CheckpointPath} had ended (its {saved!.Epochs} epoch{(saved.Epochs == 1 ? "" : "s")} trained, or stopped early): nothing more is trained, and the model is that run's; " +
                    "to train further, start a new run from its weights (Training.InitialWeightsPath; the tool's --init-weights)");
            }

            if (saved!.Data is null)
            {
                // Written by an earlier version, or by the engine's BnInceptionTrainer, which records no data.
                log.Warning($"the checkpoint {training.CheckpointPath} records no data (an earlier version, or the engine's BnInceptionTrainer, wrote it), " +
                    "so this resume cannot be checked against these rows: their classes are taken as the run's, in the same order; resume it only on the data it was started with" +
                    (finished ? "" : ". Once it trains, its checkpoints record these rows"));
            }

            result = BnInceptionTrainer.Resume(training.CheckpointPath!, train, validation, OnStep, OnEpoch, o.CancellationToken, expectedModel: architecture,
                precision: training.Precision, device: training.Device, dataIfUnrecorded: data);
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
            return new BnInceptionPredictionTransformer(result, features, layout, label, o.Scoring, train.Count);
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    // ML.NET's CrossValidate and TrainTestSplit choose how many rows each fold trains on, as ValidationFraction's
    // hold-out does, so a user cannot pick a BatchSize that is sure to leave more than one image in the last batch.
    // Rather than refuse the run, the last batch of one is dropped: the image the epoch's shuffled order puts last,
    // drawn anew each epoch. Under mpirun the ranks share the rows and a global batch is BatchSize on each rank, so
    // what is left over depends on the number of ranks, which this does not model: the engine's refusal stays there.
    // The command-line tool keeps it too (RefuseLastBatchOfOne): its user chose --batch.
    private bool LeavesOutALoneLastImage(long rows, TrainerOptions training) =>
        !Settings.RefuseLastBatchOfOne && !training.DropLastBatch && rows > training.BatchSize && rows % training.BatchSize == 1
        && !Engine.Distributed.MpiWorld.Join().IsDistributed;

    // Whether a resumed run's checkpoint drops the lone image that a fresh run with these options would have left out
    // with the warning. Its DropLastBatch cannot say whether the trainer set it or its user did, so the warning, worded
    // for these options, is given where they ask for it: not where they set DropLastBatch themselves, not in the tool
    // (RefuseLastBatchOfOne: a checkpoint of the tool's is one its user ran with --drop-last, and one of the ML.NET
    // API's goes on without its lone image there too, silently: the tool's resume keeps the checkpoint's recipe), and
    // not under mpirun, where the ranks' shares of a last global batch are not one image and the run's DropLastBatch
    // was its user's (a fresh run there never sets it, and a checkpoint of another number of processes is refused).
    private bool LeftOutALoneLastImage(long rows, TrainerOptions saved, TrainerOptions training) =>
        saved.DropLastBatch && LeavesOutALoneLastImage(rows, training with { BatchSize = saved.BatchSize });

    private static string LoneLastImageLeftOut(long rows, int batchSize) =>
        string.Create(CultureInfo.InvariantCulture, $"{rows} training rows in batches of {batchSize} leave a last batch of 1 image, which batch normalization cannot train on: ") +
        string.Create(CultureInfo.InvariantCulture, $"each epoch leaves out the one image its shuffled order puts last (drawn anew each epoch, so it may repeat) and trains on {rows - 1} of the {rows} rows. ") +
        "Set Training.DropLastBatch to drop a short last batch knowingly, or choose a BatchSize that leaves more than one image";

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
        if (schema.Select(column => column.Name).FirstOrDefault(MLNetModelExport.OwnColumnNames.Contains) is string taken)
        {
            throw new ArgumentOutOfRangeException(nameof(schema), $"The {what} data has a column '{taken}', a name the saved model gives columns of " +
                "its own and then drops: after Model.Save and Load the column would be gone. Rename it (CopyColumns, then DropColumns).");
        }

        return (features, ImageFeatureLayout.Of(features, Settings.ImageSize), LabelKey.Of(label));
    }
}
