using System.Diagnostics;
using System.Globalization;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Engine.IO;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Plots;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Experiments.Figure3;

/// <summary>Settings of the Figure 3 miniature.</summary>
internal sealed record Figure3Settings
{
    /// <summary>Training images (Fashion-MNIST's first, upscaled to <see cref="Side"/>).</summary>
    public int TrainImages { get; init; } = 12_288;

    /// <summary>Validation images: the training split's last ones, never trained on.</summary>
    public int ValidationImages { get; init; } = 2_000;

    /// <summary>Passes over the training images; validation after each.</summary>
    public int Epochs { get; init; } = 10;

    public int BatchSize { get; init; } = 32;

    public int Side { get; init; } = 64;

    public ulong Seed { get; init; } = 1;

    /// <summary>
    /// Mixed precision (bfloat16 convolutions, float32 weights and statistics), which trains like
    /// float32 at twice the speed here (docs/engine.md); false trains in float32.
    /// </summary>
    public bool Mixed { get; init; } = true;

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming the first setting out of range, by its option
    /// of the experiment program where it has one, before any image is loaded.
    /// </summary>
    public void Validate()
    {
        if (Epochs < 1)
        {
            throw new ArgumentException($"--epochs {Epochs}: train at least 1 epoch");
        }

        if (ValidationImages is < 1 or >= FashionMnist.TrainingImages)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"ValidationImages {ValidationImages}: between 1 and {FashionMnist.TrainingImages - 1:N0} of the training split's last images"));
        }

        // Validation takes the split's last images: training must end before them, or it would train
        // on the images it is measured on.
        int most = FashionMnist.TrainingImages - ValidationImages;
        if (TrainImages < BatchSize || TrainImages > most)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"--train-images {TrainImages}: between {BatchSize} (a batch) and {most:N0} (Fashion-MNIST's {FashionMnist.TrainingImages:N0} training images less the {ValidationImages:N0} validation images, which are never trained on)"));
        }

        if (TrainImages % BatchSize == 1)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"--train-images {TrainImages}: leaves a last batch of one image, which batch normalization cannot train on; choose {TrainImages - 1} or {TrainImages + 1}"));
        }
    }
}

/// <summary>One of the paper's five networks: its architecture and its recipe.</summary>
internal sealed record Configuration(string Name, BnInceptionOptions Architecture, TrainerOptions Recipe);

/// <summary>Validation after one epoch of one configuration.</summary>
internal sealed record Figure3Point(string Configuration, int Epoch, long Step, double TrainLoss, double? ValidationLoss, double? ValidationAccuracy);

/// <summary>What the paper's table gives for each configuration.</summary>
/// <param name="Configuration">The configuration's name.</param>
/// <param name="StepsToBaselineBest">The first step at which its validation accuracy reached Inception's best; null when it never did, or when there is no such best.</param>
/// <param name="BestAccuracy">Its best validation accuracy.</param>
/// <param name="Note">How long it took, or how it diverged.</param>
/// <param name="BaselineMeasured">Whether Inception has a validation result to reach: false when it was not run or diverged before its first epoch.</param>
internal sealed record Figure3Summary(string Configuration, long? StepsToBaselineBest, double BestAccuracy, string Note, bool BaselineMeasured)
{
    /// <summary>The table's entry: the step, "never", or "n/a" when Inception has no best to reach.</summary>
    public string StepsText => !BaselineMeasured ? "n/a" : StepsToBaselineBest?.ToString(CultureInfo.InvariantCulture) ?? "never";
}

/// <summary>
/// The paper's Figure 3 and its table in miniature: the five configurations trained on the same
/// Fashion-MNIST images at 64×64 with the same seed, validated after every epoch.
/// </summary>
internal static class Figure3Experiment
{
    /// <summary>The paper's five configurations (docs/paper.md §3, §4), scaled to a batch of 32 and short epochs.</summary>
    public static IReadOnlyList<Configuration> Configurations(Figure3Settings settings)
    {
        var architecture = new BnInceptionOptions { InputSize = settings.Side, InputChannels = 1, NumClasses = 10 };
        // Both baselines train with Inception's recipe: its rate, 40% dropout, its L2, its slow decay
        // (4% every 8 epochs). The accelerated BN networks change what section 4.2.1 changes.
        TrainerOptions inceptionRecipe = Common(settings) with
        {
            LearningRate = TrainerOptions.InceptionLearningRate,
            WeightDecay = TrainerOptions.InceptionWeightDecay,
            Schedule = new ExponentialSchedule(0.96, EveryEpochs: 8),
        };
        TrainerOptions bnX5 = Common(settings) with { LearningRate = 5 * TrainerOptions.InceptionLearningRate };
        return
        [
            new("Inception", architecture with { BatchNorm = false, Dropout = 0.4 }, inceptionRecipe),
            new("BN-Baseline", architecture with { Dropout = 0.4 }, inceptionRecipe),
            new("BN-x5", architecture, bnX5),
            new("BN-x30", architecture, bnX5 with { LearningRate = 30 * TrainerOptions.InceptionLearningRate }),
            new("BN-x5-Sigmoid", architecture with { Activation = Activation.Sigmoid }, bnX5),
        ];
    }

    // What every configuration shares: the data order, the distortions, the batch, the precision.
    private static TrainerOptions Common(Figure3Settings settings) => TrainerOptions.PaperBnX5 with
    {
        Epochs = settings.Epochs,
        BatchSize = settings.BatchSize,
        Seed = settings.Seed,
        Augmentation = new AugmentationOptions { CropScale = (0.7, 1.0) },
        Precision = settings.Mixed ? TrainingPrecision.BFloat16Mixed : TrainingPrecision.Float32,
    };

    /// <summary>Trains the configurations in turn, writing the files after each one.</summary>
    /// <exception cref="ArgumentException">A setting is out of range (<see cref="Figure3Settings.Validate"/>); nothing was loaded or written.</exception>
    /// <exception cref="OperationCanceledException">
    /// <paramref name="cancellationToken"/> stopped the run within a batch; the files hold the
    /// configurations that had finished, and the message says which.
    /// </exception>
    public static (IReadOnlyList<Figure3Point> Points, IReadOnlyList<Figure3Summary> Summary) Run(Figure3Settings settings, string outputFolder, TextWriter log,
        IReadOnlyList<string>? only = null, CancellationToken cancellationToken = default)
    {
        settings.Validate();
        Directory.CreateDirectory(outputFolder);
        using DisposeScope data = NewDisposeScope();
        (Tensor trainImages, Tensor trainLabels) = FashionMnist.LoadTensors(FashionMnist.DefaultFolder, "train", 0, settings.TrainImages, settings.Side);
        (Tensor validationImages, Tensor validationLabels) = FashionMnist.LoadTensors(FashionMnist.DefaultFolder, "train",
            FashionMnist.TrainingImages - settings.ValidationImages, settings.ValidationImages, settings.Side);
        long stepsPerEpoch = (settings.TrainImages + settings.BatchSize - 1) / settings.BatchSize;

        var points = new List<Figure3Point>();
        var notes = new Dictionary<string, string>();
        IReadOnlyList<Figure3Summary> summary = [];
        foreach (Configuration configuration in Configurations(settings).Where(c => only is null || only.Contains(c.Name)))
        {
            var clock = Stopwatch.StartNew();
            var own = new List<Figure3Point>();
            try
            {
                using TrainingResult result = new BnInceptionTrainer(configuration.Architecture, configuration.Recipe).Fit(
                    trainImages, trainLabels, validationImages, validationLabels,
                    onEpoch: epoch =>
                    {
                        own.Add(new Figure3Point(configuration.Name, epoch.Epoch, epoch.Epoch * stepsPerEpoch, epoch.TrainLoss, epoch.ValidationLoss, epoch.ValidationAccuracy));
                        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"{configuration.Name}, epoch {epoch.Epoch}: training loss {epoch.TrainLoss:F4}, validation accuracy {epoch.ValidationAccuracy:P2} ({clock.Elapsed.TotalSeconds:F0} s)"));
                    },
                    cancellationToken: cancellationToken);
                notes[configuration.Name] = string.Create(CultureInfo.InvariantCulture, $"{clock.Elapsed.TotalMinutes:F1} min");
            }
            catch (TrainingDivergedException error)
            {
                // A configuration that diverges is a result, not a failure of the experiment.
                notes[configuration.Name] = "diverged: " + error.Message;
                log.WriteLine($"{configuration.Name}: {error.Message}");
            }
            catch (OperationCanceledException stopped) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(WhatWasKept(configuration.Name, notes.Keys.ToList(), outputFolder), stopped, cancellationToken);
            }

            points.AddRange(own);
            // After every configuration, not once at the end: a run stopped or killed in its fourth
            // configuration (of 46 minutes) keeps the three that finished.
            summary = Summarise(points, notes);
            Write(points, summary, outputFolder);
        }

        return (points, summary);
    }

    private static string WhatWasKept(string stoppedIn, List<string> finished, string folder) => finished.Count == 0
        ? $"stopped during {stoppedIn}, before any configuration had finished: nothing of this run was written to {folder}"
        : $"stopped during {stoppedIn}; {folder} holds the {finished.Count} configuration{(finished.Count == 1 ? "" : "s")} that had finished ({string.Join(", ", finished)}): " +
          "figure3.csv, figure3-table.csv and figure3-validation-accuracy.png";

    // The paper's table: the steps each configuration takes to reach the best validation accuracy
    // of Inception (the baseline without BN), and its own best. Without an Inception result (not run,
    // or diverged before its first validation) there is nothing to reach: a best of 0 would have every
    // configuration "reach" it at its first epoch.
    internal static List<Figure3Summary> Summarise(IReadOnlyList<Figure3Point> points, IReadOnlyDictionary<string, string> notes)
    {
        double? baselineBest = points.Where(p => p.Configuration == "Inception" && p.ValidationAccuracy is not null)
            .Select(p => p.ValidationAccuracy).DefaultIfEmpty(null).Max();
        return notes.Keys.Select(name =>
        {
            List<Figure3Point> own = points.Where(p => p.Configuration == name).ToList();
            long? reached = baselineBest is null ? null : own.FirstOrDefault(p => p.ValidationAccuracy >= baselineBest)?.Step;
            return new Figure3Summary(name, reached, own.Select(p => p.ValidationAccuracy ?? 0).DefaultIfEmpty(0).Max(), notes[name], baselineBest is not null);
        }).ToList();
    }

    private static void Write(List<Figure3Point> points, IReadOnlyList<Figure3Summary> summary, string folder)
    {
        static string Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";
        // A rerun makes these files again: they are not synced to disk.
        AtomicFile.WriteAllLines(Path.Combine(folder, "figure3.csv"),
            points.Select(p => CsvText.Record([p.Configuration, p.Epoch.ToString(CultureInfo.InvariantCulture), p.Step.ToString(CultureInfo.InvariantCulture),
                Number(p.TrainLoss), Number(p.ValidationLoss), Number(p.ValidationAccuracy)]))
            .Prepend("configuration,epoch,step,train_loss,validation_loss,validation_accuracy"), flushToDisk: false);
        AtomicFile.WriteAllLines(Path.Combine(folder, "figure3-table.csv"),
            summary.Select(s => CsvText.Record([s.Configuration, s.StepsText, Number(s.BestAccuracy), s.Note]))
            .Prepend("configuration,steps_to_inception_best,best_validation_accuracy,note"), flushToDisk: false);
        AtomicFile.WriteAllBytes(Path.Combine(folder, "figure3-validation-accuracy.png"), LinePlot.Png("Validation accuracy, BN-Inception at 64×64 on Fashion-MNIST", "training step",
            "validation accuracy",
            summary.Select(s => points.Where(p => p.Configuration == s.Configuration).ToList())
                .Where(own => own.Count > 0)
                .Select(own => new Series(own[0].Configuration, own.Select(p => (double)p.Step).ToArray(), own.Select(p => p.ValidationAccuracy ?? 0).ToArray()))
                .ToArray()), flushToDisk: false);
    }
}
