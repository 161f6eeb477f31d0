using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Cli.ModelFiles;
using MLNet.BNInception.Cli.Progress;
using MLNet.BNInception.Engine.IO;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Onnx;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Engine;
using MLNet.BNInception.Images;
using MLNet.BNInception.ModelFiles;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;
using TorchSharp;

namespace MLNet.BNInception.Cli.Pipelines;

/// <summary>
/// Trains as an ML.NET program would: the text loader reads the path and label columns, then
/// <c>MapValueToKey</c>, <c>LoadImagesSafely</c>, <c>ResizeImages</c>, (<c>ConvertToGrayscale</c>),
/// <c>ExtractPixels</c>, BN-Inception and <c>MapKeyToValue</c>; the fitted chain is saved with
/// <c>mlContext.Model.Save</c> to a temporary file, renamed when whole.
/// </summary>
internal sealed class TrainingJob(TrainingSettings settings, CommandContext context)
{
    private readonly CancellationToken _cancellation = context.StopGracefully();

    /// <summary>The columns the pipeline makes: a list's own columns cannot have these names.</summary>
    internal const string ImageColumn = "Image", FeaturesColumn = "Features";

    public TrainingReport Run()
    {
        CheckSettings();
        CommandFiles.Check(settings.Inputs(), settings.Outputs());
        using TrainingLock? running = TrainingLock.TakeOnRankZero(settings);
        // The model's save stages its network in the temporary folder: one that takes no folder would fail it after the training.
        TemporaryModelFolder.Delete(CommandFiles.NewTemporaryModelFolder());
        char separator = settings.SeparatorOf(settings.TrainPath);
        IReadOnlyList<string> trainHeader = CsvHeader.Read(settings.TrainPath, separator);
        TextLoader.Column[] trainColumns = TrainingList.Columns(settings, trainHeader, settings.TrainPath, separator);
        TextLoader.Column[]? validColumns = settings.ValidPath is null ? null : TrainingList.Columns(settings, CsvHeader.Read(settings.ValidPath, settings.SeparatorOf(settings.ValidPath)), settings.ValidPath, settings.SeparatorOf(settings.ValidPath));
        string imageFolder = settings.ImageFolder ?? Path.GetDirectoryName(settings.TrainPath)!;
        if (!Directory.Exists(imageFolder))
        {
            throw ImageFolderChoice.Missing(imageFolder);
        }

        if (File.Exists(settings.OutputPath) && !settings.Overwrite && !settings.Resume)
        {
            throw CommandLineException.BadArguments($"the model '{settings.OutputPath}' exists: pass --overwrite to replace it");
        }

        if (settings.Resume && !File.Exists(settings.Training.CheckpointPath))
        {
            throw CommandLineException.BadArguments($"--resume: the checkpoint '{settings.Training.CheckpointPath}' does not exist; without --resume, training starts afresh");
        }

        // A run started afresh writes its first checkpoint over the one there: an interrupted run's
        // hours, lost to a forgotten --resume, unless the user said to replace it.
        if (!settings.Resume && !settings.Overwrite && File.Exists(settings.Training.CheckpointPath))
        {
            throw CommandLineException.BadArguments(
                $"the checkpoint '{settings.Training.CheckpointPath}' exists, an earlier run's: pass --resume to continue that run, or --overwrite to start afresh and replace it");
        }

        // The run a resume continues, read before any data: its epochs are the ones progress counts.
        TrainerOptions? resumed = null;
        if (settings.Resume)
        {
            try
            {
                resumed = TrainingCheckpoint.ReadDescription(settings.Training.CheckpointPath!).Trainer;
            }
            catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
            {
                throw CommandLineException.UnreadableInput($"--resume: the checkpoint cannot be resumed: {BnInceptionCommandLine.OneLine(e.Message)}", e);
            }
        }

        if (settings.CurvesPath is not null && TrainingCurves.CheckPath(settings.CurvesPath) is string curves)
        {
            throw CommandLineException.BadArguments($"--curves: {char.ToLowerInvariant(curves[0])}{curves[1..].TrimEnd('.')}");
        }

        // mlContext.Model.Save writes the model's parts into a folder of its own under the context's
        // temporary folder before it zips them, and leaves it there when the process is killed
        // meanwhile: in a folder of this process's own, the next run that saves or loads a model removes it.
        string temporaryFolder = CommandFiles.NewTemporaryModelFolder();
        try
        {
            var ml = new MLContext(seed: (int)(settings.Training.Seed % int.MaxValue)) { TempFilePath = temporaryFolder };
            TorchRuntime.EnsureLoaded();
            torch.set_num_threads(settings.Threads);
            long trainRows = RowCount.Of(settings.TrainPath, separator, TrainingList.PathField(trainColumns));
            if (settings.ValidPath is not null)
            {
                RowCount.Of(settings.ValidPath, settings.SeparatorOf(settings.ValidPath), TrainingList.PathField(validColumns!));  // checked as --train is, before any image is read
            }

            if (trainRows == 0)
            {
                throw CommandLineException.UnreadableInput($"'{settings.TrainPath}' has a header and no rows: there is nothing to train on");
            }

            IDataView train = TrainingList.OpenForTraining(ml, settings, trainColumns, separator, trainRows, CacheMemory.Available());
            IDataView? valid = settings.ValidPath is null ? null : TrainingList.Load(ml, settings.ValidPath, validColumns!, settings.SeparatorOf(settings.ValidPath));
            TrainingLabels.RefuseUnknown(ml, settings, trainColumns, valid);

            // Replaced as asked, now that every check has passed: were this run stopped before its first
            // checkpoint, the earlier run's would otherwise stay, and the advice to resume would lead to it.
            if (!settings.Resume && settings.Overwrite && File.Exists(settings.Training.CheckpointPath))
            {
                File.Delete(settings.Training.CheckpointPath);
            }

            return ProgressDisplay.RunAsync(context, "training", sink => Task.FromResult(Fit(ml, train, valid, imageFolder, trainRows, resumed, sink))).GetAwaiter().GetResult();
        }
        finally
        {
            TemporaryModelFolder.Delete(temporaryFolder);
        }
    }

    private TrainingReport Fit(MLContext ml, IDataView train, IDataView? valid, string imageFolder, long trainRows, TrainerOptions? resumed, IProgressSink sink)
    {
        var clock = Stopwatch.StartNew();
        // Under mpirun every rank reads every row, and may see other files: a warning says which rank's it is.
        string fromRank = Engine.Distributed.MpiWorld.Join() is { Rank: > 0 } rankWorld ? $"rank {rankWorld.Rank}: " : "";
        var warnings = new WarningLines(ml, sink, fromRank);

        // The images as the network sees them, fitted once and applied to both data sets.
        string label = settings.LabelColumn;
        var skipped = new SkippedImages();
        IEstimator<ITransformer> images = ml.Transforms.Conversion.MapValueToKey(label)
            .Append(ml.Transforms.LoadImagesSafely(new SafeImageLoadingOptions
            {
                OutputColumnName = ImageColumn,
                InputColumnName = settings.PathColumn,
                ImageFolder = imageFolder,
                OnInvalidImage = settings.SkipInvalidImages ? InvalidImagePolicy.Skip : InvalidImagePolicy.Fail,
                MaximumPixels = settings.MaxImagePixels,
                Log = ml,
                ImageSkipped = skipped.Add,
            }))
            .Append(ml.Transforms.ResizeImages(ImageColumn, settings.ImageSize, settings.ImageSize, resizing: settings.Resize switch
            {
                "iso-pad" => ImageResizingEstimator.ResizingKind.IsoPad,
                "fill" => ImageResizingEstimator.ResizingKind.Fill,
                _ => ImageResizingEstimator.ResizingKind.IsoCrop,
            }));
        if (settings.Grayscale)
        {
            images = images.Append(ml.Transforms.ConvertToGrayscale(ImageColumn));
        }

        images = images.Append(ml.Transforms.ExtractPixels(FeaturesColumn, ImageColumn,
            colorsToExtract: settings.Grayscale ? ImagePixelExtractingEstimator.ColorBits.Red : ImagePixelExtractingEstimator.ColorBits.Rgb,
            scaleImage: 1f / 255));
        ITransformer preparation = images.Fit(train);
        IDataView preparedTrain = preparation.Transform(train);

        // Under skip, the first pass over a view decides which of its rows stay. Made here, before the
        // trainer's passes (which then only look the verdicts up), it counts the training rows kept and
        // skipped apart from the validation data's.
        TrainingReport StoppedBeforeTraining() => new(settings.OutputPath, settings.Training.CheckpointPath!, [], 0, 0, clock.Elapsed, Interrupted: true,
            TrainRows: trainRows, InterruptedBeforeTraining: true);
        long trainImages = trainRows;
        IReadOnlyList<(InvalidImageReason Reason, long Rows)> trainSkipped = [];
        if (settings.SkipInvalidImages)
        {
            try
            {
                trainImages = RowCount.Of(preparedTrain, _cancellation, sink, "checking the images", trainRows);
            }
            catch (OperationCanceledException) when (_cancellation.IsCancellationRequested)
            {
                return StoppedBeforeTraining();
            }

            trainSkipped = skipped.ByReason();
            if (trainImages == 0)
            {
                throw CommandLineException.UnreadableInput(
                    $"every one of the {trainRows} rows of '{settings.TrainPath}' was skipped, so there is nothing to train on: their images " +
                    $"cannot be loaded ({SkippedImages.Describe(trainSkipped)}; {warnings.SkippedRowsNamed(reasons: false)}). " +
                    "Fix the files, or pass the --image-folder their paths are relative to");
            }
        }

        if (settings.Cache)
        {
            // ML.NET's cache holds every decoded image before the first step reads one: filled here, that wait shows as progress.
            preparedTrain = ml.Data.Cache(preparedTrain);
            try
            {
                RowCount.Of(preparedTrain, _cancellation, sink, "caching the images", trainImages, [preparedTrain.Schema[label], preparedTrain.Schema[FeaturesColumn]]);
            }
            catch (Exception e) when (InvalidImageException.FindIn(e) is { } invalid && !_cancellation.IsCancellationRequested)
            {
                throw TrainingFailures.ImageCannotBeLoaded(settings, invalid, e);
            }
            catch (OperationCanceledException) when (_cancellation.IsCancellationRequested)
            {
                return StoppedBeforeTraining();
            }
        }

        int classes = checked((int)((KeyDataViewType)preparedTrain.Schema[label].Type).Count);
        if (classes < 2)
        {
            // The labels are keyed from --train's rows: one value among them leaves nothing to tell apart.
            throw TrainingFailures.OneClass(settings, preparedTrain.Schema[label]);
        }
        int epochs = (resumed ?? settings.Training).Epochs;
        var history = new List<EpochMetrics>();
        // What the run computes with, as score says it: a run of hours should not leave its user
        // guessing whether --threads or BNINCEPTION_NUM_THREADS took effect. A resumed run keeps its
        // checkpoint's recipe (epochs, batch size) and takes the precision and device given.
        // Under mpirun the ranks run the same command: rank 0 says it once, for all of them.
        Engine.Distributed.MpiWorld world = Engine.Distributed.MpiWorld.Join();
        string computing = string.Create(CultureInfo.InvariantCulture,
            $"{(settings.Training.Precision == TrainingPrecision.BFloat16Mixed ? "mixed bfloat16" : "float32")} on {settings.Training.Device}, " +
            $"{settings.Threads} thread{(settings.Threads == 1 ? "" : "s")}{(world.Size == 1 ? "" : " each")}");
        string ranks = world.Size == 1
            ? ""
            : string.Create(CultureInfo.InvariantCulture, $" on each of {world.Size} ranks (global batches of {(long)settings.Training.BatchSize * world.Size})");
        if (world.Rank == 0)
        {
            sink.Line(settings.Resume
                ? $"resuming the run in {Printable.Escaped(settings.Training.CheckpointPath!)} with its epochs and batch size: {computing}{(world.Size == 1 ? "" : $", {world.Size} ranks")}"
                : string.Create(CultureInfo.InvariantCulture,
                    $"training {classes} classes, {epochs} epoch{(epochs == 1 ? "" : "s")} of batches of {settings.Training.BatchSize}{ranks}: {computing}"));
            foreach (string warning in resumed is null ? [] : ResumedRecipe.Warnings(settings, resumed))
            {
                sink.Line("warning: " + warning);
            }
        }
        var trainer = ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
        {
            LabelColumnName = label,
            FeatureColumnName = FeaturesColumn,
            ImageSize = settings.ImageSize,
            InputSize = settings.InputSize,
            Training = settings.Training,
            Architecture = settings.Architecture,
            ResumeFromCheckpoint = settings.Resume,
            ShufflePoolSize = settings.ShufflePoolSize,
            RefuseLastBatchOfOne = true,
            // Every rank reads the same list and finds the same order: rank 0 says it once, for all of them.
            OnRowsGroupedInAPool = (rows, pool) =>
            {
                if (world.Rank == 0)
                {
                    sink.Line("warning: " + TrainingList.GroupedThroughAPool(settings, rows, pool));
                }
            },
            CancellationToken = _cancellation,
            OnStep = step => sink.Report(step.Step, (double)step.StepsPerEpoch * epochs, string.Create(CultureInfo.InvariantCulture,
                $"epoch {step.Epoch}/{epochs}, step {step.StepInEpoch}/{step.StepsPerEpoch}, loss {step.Loss:F4}, accuracy {step.Accuracy:P1}, lr {step.LearningRate:G4}, {step.ImagesPerSecond:F1} images/s")),
            OnEpoch = epoch =>
            {
                history.Add(epoch);
                string validation = epoch.ValidationAccuracy is { } accuracy
                    ? string.Create(CultureInfo.InvariantCulture, $"; validation loss {epoch.ValidationLoss:F4}, accuracy {accuracy:P2}")
                    : "";
                sink.Line(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch.Epoch}/{epochs}: train loss {epoch.TrainLoss:F4}, accuracy {epoch.TrainAccuracy:P2}{validation}; lr {epoch.LearningRate:G4}"));
            },
        });

        BnInceptionPredictionTransformer network;
        try
        {
            network = trainer.Fit(preparedTrain, valid is null ? null : preparation.Transform(valid));
        }
        catch (OperationCanceledException) when (_cancellation.IsCancellationRequested)
        {
            return new TrainingReport(settings.OutputPath, settings.Training.CheckpointPath!, history, classes, trainImages, clock.Elapsed, Interrupted: true)
            {
                Rank = world.Rank,
            };
        }
        catch (ArgumentException e) when (e.ParamName is "options" && world.IsDistributed)
        {
            // Under mpirun: the ranks were given other settings (DataParallel.CheckSameRun).
            throw CommandLineException.BadArguments(OptionValues.Reason(e));
        }
        catch (ArgumentException e) when (e.ParamName is "trainData" or "validationData")
        {
            // No rows left to train or validate on: every row skipped, or a hold-out that takes none.
            string file = e.ParamName == "validationData" && settings.ValidPath is { } validPath ? validPath : settings.TrainPath;
            string reason = settings.SkipInvalidImages
                ? $"every row was skipped ({warnings.SkippedRowsNamed(reasons: true)})"
                : BnInceptionCommandLine.OneLine(e.Message[..(e.Message.IndexOf(" (Parameter", StringComparison.Ordinal) is int cut and >= 0 ? cut : e.Message.Length)]);
            throw CommandLineException.UnreadableInput(
                $"'{file}' leaves no rows to {(e.ParamName == "validationData" ? "validate" : "train")} on: {reason}", e);
        }
        catch (CheckpointMismatchException e)
        {
            throw CommandLineException.BadArguments($"--resume: {BnInceptionCommandLine.OneLine(e.Message)}");
        }
        catch (InvalidDataException e) when (InvalidImageException.FindIn(e) is null)
        {
            throw TrainingFailures.UnreadableData(e, settings);
        }
        catch (BatchSizeMismatchException e)
        {
            throw TrainingFailures.BatchesDoNotFit(e, (resumed ?? settings.Training).DropLastBatch, resumed: resumed is not null);
        }
        catch (Exception e) when (InvalidImageException.FindIn(e) is { } invalid)
        {
            // The trainer throws the loader's exception itself; found wherever ML.NET may have wrapped it all the same.
            throw TrainingFailures.ImageCannotBeLoaded(settings, invalid, e);
        }
        catch (Exception e) when (WriteFailure.FindIn(e) is { } failed)
        {
            throw TrainingFailures.StoppedByAFile(settings, failed, e);
        }

        // What the network trained on: --valid-fraction's hold-out is chosen inside the trainer.
        long heldOut = network.TrainingRows is { } trainedOn ? trainImages - trainedOn : 0;
        trainImages -= heldOut;
        bool curvesWritten = false;
        int keptEpoch = network.BestEpoch;
        // The whole run's epochs, a resumed run's earlier ones included: the kept epoch may be among them.
        IReadOnlyList<EpochMetrics> epochsRun = network.History;
        // Under mpirun every rank ends with the same model (the engine checks its replicas); rank 0
        // alone writes it, as it alone writes the checkpoint.
        int rank = world.Rank;
        using (network)
        {
            if (rank != 0)
            {
                return new TrainingReport(settings.OutputPath, settings.Training.CheckpointPath!, epochsRun, classes, trainImages, clock.Elapsed, Interrupted: false,
                    settings.Training.Precision, null, keptEpoch, trainRows, trainSkipped) { Rank = rank };
            }

            ITransformer labels = ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(network.Transform(preparedTrain));
            var model = new TransformerChain<ITransformer>([.. (IEnumerable<ITransformer>)preparation, network, labels]);

            TrainingOutputs.SaveModel(settings, ml, model, train.Schema);
            curvesWritten = settings.CurvesPath is not null && TrainingOutputs.SaveCurves(network, settings.CurvesPath, sink);
        }

        return new TrainingReport(settings.OutputPath, settings.Training.CheckpointPath!, epochsRun, classes, trainImages, clock.Elapsed, Interrupted: false,
            settings.Training.Precision, curvesWritten ? settings.CurvesPath : null, keptEpoch, trainRows, trainSkipped)
        {
            EpochsInThisRun = history.Count,
            HeldOut = heldOut,
        };
    }

    // The engine checks every setting, but only once the data is prepared: checked here first, its
    // reasons become bad-argument errors before anything is read.
    private void CheckSettings()
    {
        string? sizeProblem = settings.InputSize is int inputSize
            ? BnInceptionOptions.InputSizeProblem(inputSize, "--input-size")
                ?? OnnxExportOptions.ImageSizeProblem(settings.ImageSize, inputSize, "--size", "--input-size")
            : BnInceptionOptions.InputSizeProblem(settings.ImageSize, "--size");
        if (sizeProblem is not null)
        {
            throw CommandLineException.BadArguments(sizeProblem.TrimEnd('.'));
        }

        if (settings.ShufflePoolSize < 2)
        {
            throw CommandLineException.BadArguments($"--shuffle-pool {settings.ShufflePoolSize}: the pool must hold at least 2 rows to shuffle them");
        }

        if (settings.ShufflePoolSize is int pool && settings.Cache)
        {
            throw CommandLineException.BadArguments($"--shuffle-pool {pool} reads the list through a pool, and --cache reads the decoded images from memory in any order: give one of them");
        }

        // The engine says so too, but only once the images are prepared: under skip, after a pass that decodes every one.
        if (settings.Training.EarlyStopping is not null && settings.ValidPath is null && settings.Training.ValidationFraction == 0)
        {
            throw CommandLineException.BadArguments("--early-stopping-patience stops on the validation metrics: give --valid or --valid-fraction");
        }

        int channels = settings.Grayscale ? 1 : 3;
        OptionValues.CheckBatchFits(settings.Training.BatchSize, (long)channels * settings.ImageSize * settings.ImageSize,
            $"images of {channels} × {settings.ImageSize} × {settings.ImageSize} values");
        try
        {
            settings.Training.Validate();
            (settings.Architecture with { InputSize = settings.NetworkSide, InputChannels = settings.Grayscale ? 1 : 3, NumClasses = 2 }).Validate();
        }
        catch (ArgumentException e)
        {
            throw CommandLineException.BadArguments($"the training settings are not valid: {OptionValues.Reason(e)}");
        }
    }
}
