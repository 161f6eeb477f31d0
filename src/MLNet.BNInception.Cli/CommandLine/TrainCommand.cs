using System.CommandLine;
using System.Globalization;
using MLNet.BNInception.Cli.Pipelines;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Programs;

namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>
/// <c>bninception train</c>: builds the ML.NET pipeline a program would (text loader, key mapping,
/// safe image loading, resizing, pixel extraction, BN-Inception, key to value) from the arguments,
/// fits it and saves the same model file <c>mlContext.Model.Save</c> writes. Every setting of the
/// trainer has an option; those the paper's recipe fixes default to it.
/// </summary>
internal static class TrainCommand
{
    // The engine's defaults, which the options show in --help and pass on: the tool never retypes them.
    private static readonly TrainerOptions Training = new();
    private static readonly BnInceptionOptions Network = new();
    private static readonly EarlyStoppingOptions Stopping = new();

    // Both presets decay exponentially; --schedule exponential takes its defaults from that decay.
    private static readonly ExponentialSchedule PaperDecay = (ExponentialSchedule)Training.Schedule;

    // StepSchedule has no default period: 30 epochs is the tool's, with the engine's factor.
    private static readonly StepSchedule StepDecay = new(StepEpochs: 30);

    // The --schedule names, in the order --help lists them.
    private static readonly (string Name, Type Kind)[] Schedules =
        [("exponential", typeof(ExponentialSchedule)), ("step", typeof(StepSchedule)), ("cosine", typeof(CosineSchedule)), ("constant", typeof(ConstantSchedule))];

    public static Command Create(CommandContext context)
    {
        // Every decimal option reads its value with OptionValues.Decimal: a point for decimals, whatever the locale.

        // The data.
        var train = new Option<FileInfo>("--train") { Description = "The CSV file of training images: a header, a column of image paths and a column of labels.", Required = true };
        var valid = new Option<FileInfo>("--valid") { Description = "A CSV file of validation images (same columns); reported every epoch, and what early stopping watches." };
        var validFraction = new Option<double?>("--valid-fraction") { Description = "Instead of --valid, hold out this fraction of the training rows (0 to 0.5).", CustomParser = OptionValues.OptionalDecimal };
        var imageFolder = new Option<DirectoryInfo>("--image-folder") { Description = "The folder relative image paths are read from. Default: the folder of the --train file." };
        var pathColumn = new Option<string>("--path-column") { Description = "The column of image paths.", DefaultValueFactory = _ => "ImagePath" };
        var labelColumn = new Option<string>("--label-column") { Description = "The column of labels (any text: class names or numbers).", DefaultValueFactory = _ => "Label" };
        var separator = new Option<string>("--separator") { Description = "The field separator: a character, or 'tab'. Default: tab for .tsv files, else comma." };
        var onInvalidImage = new Option<string>("--on-invalid-image") { Description = "fail: stop at a row whose image cannot be loaded, naming it; skip: leave such rows out, with a warning each.", DefaultValueFactory = _ => "fail" }
            .AcceptOnlyFromAmong("fail", "skip");

        // The images.
        var size = new Option<int>("--size")
        {
            Description = "The side the images are resized to: a multiple of 32, at least 64, when it is also the network's side; from --input-size up to 4096 when that is given.",
            DefaultValueFactory = _ => Network.InputSize,
        };
        var inputSize = new Option<int?>("--input-size")
        {
            Description = "The network's side, when the images are kept larger (--size up to 4096): training crops are cut from the larger images, "
                + "and validation and scoring resize them whole. A multiple of 32, at least 64. Default: --size.",
        };
        var resize = new Option<string>("--resize") { Description = "How images become square: iso-crop (keep the aspect ratio, crop the centre), iso-pad (keep it, pad), fill (stretch).", DefaultValueFactory = _ => "iso-crop" }
            .AcceptOnlyFromAmong("iso-crop", "iso-pad", "fill");
        var channels = new Option<string>("--channels")
            {
                Description = "rgb: three channels; gray: one (for grayscale images such as Fashion-MNIST).",
                DefaultValueFactory = _ => Network.InputChannels == 1 ? "gray" : "rgb",
            }
            .AcceptOnlyFromAmong("rgb", "gray");

        // The recipe.
        var preset = new Option<string>("--preset")
            {
                Description = $"The paper's recipe: {string.Join(" or ", Enum.GetValues<TrainingPreset>().Select(name => Text(
                    $"{OptionValues.Spelling(name)} (learning rate {TrainerOptions.For(name).LearningRate})")))}; the options below override its parts.",
                DefaultValueFactory = _ => OptionValues.Spelling(TrainerOptions.DefaultPreset),
            }
            .AcceptOnlyFromAmong(OptionValues.Spellings<TrainingPreset>());
        var epochs = new Option<int>("--epochs") { Description = "Passes over the training data.", DefaultValueFactory = _ => Training.Epochs };
        var batch = new Option<int>("--batch") { Description = "Images per step (at least 2).", DefaultValueFactory = _ => Training.BatchSize };
        var lr = new Option<double?>("--lr") { Description = "The base learning rate. Default: the preset's.", CustomParser = OptionValues.OptionalDecimal };
        var momentum = new Option<double?>("--momentum") { Description = Text($"SGD momentum. Default: the preset's, {Training.Momentum}."), CustomParser = OptionValues.OptionalDecimal };
        var nesterov = new Option<bool>("--nesterov") { Description = "Nesterov momentum." };
        var weightDecay = new Option<double?>("--weight-decay")
        {
            Description = Text($"L2 weight decay. Default: the preset's, {Training.WeightDecay:0.#######} (the Inception baseline's {TrainerOptions.InceptionWeightDecay:0.#######}, reduced 5× as the paper does)."),
            CustomParser = OptionValues.OptionalDecimal,
        };
        var decayBatchNorm = new Option<bool>("--decay-bn-and-bias") { Description = "Apply weight decay to BN's scale and shift and to biases too." };
        var schedule = new Option<string>("--schedule")
            {
                Description = "exponential (the paper's: ×--gamma every --decay-epochs), step (×--gamma every --decay-epochs), cosine, constant.",
                DefaultValueFactory = _ => Schedules.Single(kind => kind.Kind == Training.Schedule.GetType()).Name,
            }
            .AcceptOnlyFromAmong([.. Schedules.Select(kind => kind.Name)]);
        var gamma = new Option<double?>("--gamma") { Description = Text($"The factor of exponential and step decay. Default {PaperDecay.Gamma} (exponential), {StepDecay.Gamma} (step)."), CustomParser = OptionValues.OptionalDecimal };
        var decayEpochs = new Option<double?>("--decay-epochs")
        {
            Description = Text($"Epochs between decays. Default {PaperDecay.EveryEpochs:0.##} (exponential: the paper's 6× faster decay of the baseline's every 8 epochs), {StepDecay.StepEpochs} (step)."),
            CustomParser = OptionValues.OptionalDecimal,
        };
        var minLrFactor = new Option<double>("--min-lr-factor") { Description = "Cosine: the final rate as a fraction of the base rate.", DefaultValueFactory = _ => new CosineSchedule().MinimumFactor, CustomParser = OptionValues.Decimal };
        var warmup = new Option<double>("--warmup-epochs") { Description = "Epochs of linear warm-up to the base rate.", DefaultValueFactory = _ => Training.Schedule.WarmupEpochs, CustomParser = OptionValues.Decimal };
        var labelSmoothing = new Option<double>("--label-smoothing") { Description = "Label smoothing of the cross-entropy (0 to 1).", DefaultValueFactory = _ => Training.LabelSmoothing, CustomParser = OptionValues.Decimal };
        var dropLast = new Option<bool>("--drop-last") { Description = "Drop each epoch's last, smaller batch." };
        var noAugment = new Option<bool>("--no-augment") { Description = "Train on the images as they are: no random crops or flips." };
        var cropScale = new Option<string>("--crop-scale") { Description = "Random crops cover MIN,MAX of the image's area.", DefaultValueFactory = _ => Pair(Training.Augmentation.CropScale) };
        var cropRatio = new Option<string>("--crop-ratio") { Description = "Random crops' aspect ratios lie in MIN,MAX.", DefaultValueFactory = _ => Pair(Training.Augmentation.CropAspectRatio) };
        var noFlip = new Option<bool>("--no-flip") { Description = "No random horizontal flips." };
        var seed = new Option<ulong>("--seed") { Description = "Seed of initialisation, shuffling, augmentation and --valid-fraction.", DefaultValueFactory = _ => Training.Seed };
        var patience = new Option<int?>("--early-stopping-patience") { Description = "Stop after this many epochs without improvement of the validation metric, keeping the best weights." };
        var stoppingMetric = new Option<string>("--early-stopping-metric")
            {
                Description = "loss or accuracy: the validation metric early stopping watches.",
                DefaultValueFactory = _ => Stopping.Metric == StoppingMetric.ValidationAccuracy ? "accuracy" : "loss",
            }
            .AcceptOnlyFromAmong("loss", "accuracy");
        var minDelta = new Option<double>("--early-stopping-min-delta") { Description = "The least change that counts as an improvement.", DefaultValueFactory = _ => Stopping.MinDelta, CustomParser = OptionValues.Decimal };

        // The network.
        var dropout = new Option<double>("--dropout") { Description = "Dropout before the classifier (the paper removes it).", DefaultValueFactory = _ => Network.Dropout, CustomParser = OptionValues.Decimal };
        var noBatchNorm = new Option<bool>("--no-batch-norm") { Description = "The Inception baseline without Batch Normalization." };
        var activation = new Option<string>("--activation") { Description = "relu or sigmoid (the paper's sigmoid experiment).", DefaultValueFactory = _ => OptionValues.Spelling(Network.Activation) }
            .AcceptOnlyFromAmong(OptionValues.Spellings<Activation>());
        var bnEpsilon = new Option<double>("--bn-epsilon") { Description = "BN's ε.", DefaultValueFactory = _ => Network.BatchNormEpsilon, CustomParser = OptionValues.Decimal };
        var bnMomentum = new Option<double>("--bn-momentum") { Description = "BN's running-statistics momentum.", DefaultValueFactory = _ => Network.BatchNormMomentum, CustomParser = OptionValues.Decimal };
        var initWeights = new Option<FileInfo>("--init-weights") { Description = "Start from the weights of a PyTorch state dict (.pt, torch.save of model.state_dict())." };

        // The run.
        var output = new Option<FileInfo>("--out") { Description = "The model file to write (.zip), as mlContext.Model.Save writes it.", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace --out if it exists and, without --resume, the checkpoint of an earlier run." };
        var curves = new Option<FileInfo>("--curves")
        {
            Description = "Draw loss and accuracy per epoch to this PNG when training ends, with the numbers in a CSV of the same name beside it.",
        };
        var checkpoint = new Option<FileInfo>("--checkpoint") { Description = "The checkpoint, written after every epoch and on Ctrl-C. Default: --out with .ckpt appended." };
        var resume = new Option<bool>("--resume") { Description = "Continue the run the checkpoint holds." };
        var threads = OptionValues.ThreadsOption();
        var precision = new Option<string>("--precision")
        {
            Description = "float32, or bfloat16-mixed: bfloat16 convolutions on float32 weights, statistics and optimizer, about 1.6x as fast on CPUs with AVX512-BF16. " +
                "With --resume, the run goes on in the precision given here.",
            DefaultValueFactory = _ => OptionValues.Spelling(Training.Precision),
        }.AcceptOnlyFromAmong(OptionValues.Spellings<TrainingPrecision>());
        var device = new Option<string>("--device")
        {
            Description = "cpu, or cuda / cuda:N: train on that GPU. Needs a CUDA build of libtorch (docs/gpu.md).",
            DefaultValueFactory = _ => Training.Device,
        };
        var cache = new Option<bool>("--cache") { Description = "Decode every image once, before the first step, and keep it in memory (ML.NET's cache): faster epochs, memory for every image (refused when more than the memory available)." };
        var shufflePool = new Option<int?>("--shuffle-pool") { Description = "Read --train in its file order through a shuffle pool of N rows, instead of holding its paths and labels in memory to read every epoch in a fresh order of all its rows (a pool mixes only nearby rows: shuffle the list first). Not with --cache." };

        Option<long> maxImagePixels = OptionValues.MaxImagePixelsOption();

        var command = new Command("train", "Train BN-Inception on a CSV list of labelled images and save an ML.NET model file.")
        {
            train, valid, validFraction, imageFolder, pathColumn, labelColumn, separator, onInvalidImage, size, inputSize, resize, channels,
            preset, epochs, batch, lr, momentum, nesterov, weightDecay, decayBatchNorm, schedule, gamma, decayEpochs, minLrFactor, warmup,
            labelSmoothing, dropLast, noAugment, cropScale, cropRatio, noFlip, seed, patience, stoppingMetric, minDelta,
            dropout, noBatchNorm, activation, bnEpsilon, bnMomentum, initWeights, output, overwrite, curves, checkpoint, resume, threads, precision, device, cache, shufflePool,
            maxImagePixels,
        };
        command.SetAction(parsed =>
        {
            TrainerOptions recipe = TrainerOptions.For(OptionValues.Parse<TrainingPreset>(parsed.GetRequiredValue(preset)));
            string scheduleName = parsed.GetRequiredValue(schedule);
            double? decayGamma = parsed.GetValue(gamma), decayEvery = parsed.GetValue(decayEpochs);
            LearningRateSchedule rateSchedule = scheduleName switch
            {
                "exponential" => new ExponentialSchedule(decayGamma ?? PaperDecay.Gamma, decayEvery ?? PaperDecay.EveryEpochs),
                "step" => new StepSchedule(WholeEpochs(decayEvery ?? StepDecay.StepEpochs), decayGamma ?? StepDecay.Gamma),
                "cosine" => new CosineSchedule(parsed.GetValue(minLrFactor)),
                _ => new ConstantSchedule(),
            };
            if (scheduleName is "cosine" or "constant" && (decayGamma is not null || decayEvery is not null))
            {
                throw CommandLineException.BadArguments($"--gamma and --decay-epochs apply to the exponential and step schedules, not to --schedule {scheduleName}");
            }

            rateSchedule = rateSchedule with { WarmupEpochs = parsed.GetValue(warmup) };
            (double, double) scale = Pair(parsed.GetRequiredValue(cropScale), "--crop-scale"), ratio = Pair(parsed.GetRequiredValue(cropRatio), "--crop-ratio");
            string outputPath = parsed.GetRequiredValue(output).FullName;
            int? stoppingPatience = parsed.GetValue(patience);
            var settings = new TrainingSettings
            {
                TrainPath = parsed.GetRequiredValue(train).FullName,
                ValidPath = parsed.GetValue(valid)?.FullName,
                ImageFolder = parsed.GetValue(imageFolder)?.FullName,
                PathColumn = parsed.GetRequiredValue(pathColumn),
                LabelColumn = parsed.GetRequiredValue(labelColumn),
                Separator = OptionValues.Separator(parsed.GetValue(separator)),
                SkipInvalidImages = parsed.GetValue(onInvalidImage) == "skip",
                MaxImagePixels = OptionValues.Positive(parsed.GetValue(maxImagePixels), "--max-image-pixels"),
                ImageSize = parsed.GetValue(size),
                InputSize = parsed.GetValue(inputSize),
                Resize = parsed.GetRequiredValue(resize),
                Grayscale = parsed.GetValue(channels) == "gray",
                OutputPath = outputPath,
                Overwrite = parsed.GetValue(overwrite),
                CurvesPath = parsed.GetValue(curves)?.FullName,
                Resume = parsed.GetValue(resume),
                Cache = parsed.GetValue(cache),
                ShufflePoolSize = parsed.GetValue(shufflePool),
                Threads = OptionValues.Threads(parsed.GetValue(threads)),
                Training = recipe with
                {
                    Epochs = parsed.GetValue(epochs),
                    BatchSize = parsed.GetValue(batch),
                    LearningRate = parsed.GetValue(lr) ?? recipe.LearningRate,
                    Momentum = parsed.GetValue(momentum) ?? recipe.Momentum,
                    Nesterov = parsed.GetValue(nesterov),
                    WeightDecay = parsed.GetValue(weightDecay) ?? recipe.WeightDecay,
                    DecayBatchNormAndBias = parsed.GetValue(decayBatchNorm),
                    Schedule = rateSchedule,
                    LabelSmoothing = parsed.GetValue(labelSmoothing),
                    DropLastBatch = parsed.GetValue(dropLast),
                    Augmentation = parsed.GetValue(noAugment) ? AugmentationOptions.None : new AugmentationOptions
                    {
                        CropScale = scale,
                        CropAspectRatio = ratio,
                        HorizontalFlip = !parsed.GetValue(noFlip),
                    },
                    Seed = parsed.GetValue(seed),
                    ValidationFraction = parsed.GetValue(validFraction) ?? 0,
                    EarlyStopping = stoppingPatience is null ? null : new EarlyStoppingOptions
                    {
                        Patience = stoppingPatience.Value,
                        Metric = parsed.GetValue(stoppingMetric) == "accuracy" ? StoppingMetric.ValidationAccuracy : StoppingMetric.ValidationLoss,
                        MinDelta = parsed.GetValue(minDelta),
                    },
                    CheckpointPath = parsed.GetValue(checkpoint)?.FullName ?? outputPath + ".ckpt",
                    InitialWeightsPath = parsed.GetValue(initWeights)?.FullName,
                    Precision = OptionValues.Parse<TrainingPrecision>(parsed.GetRequiredValue(precision)),
                    Device = OptionValues.Device(parsed.GetRequiredValue(device)),
                },
                Architecture = new BnInceptionOptions
                {
                    Dropout = parsed.GetValue(dropout),
                    BatchNorm = !parsed.GetValue(noBatchNorm),
                    Activation = OptionValues.Parse<Activation>(parsed.GetRequiredValue(activation)),
                    BatchNormEpsilon = parsed.GetValue(bnEpsilon),
                    BatchNormMomentum = parsed.GetValue(bnMomentum),
                },
            };
            if (settings.ValidPath is not null && parsed.GetValue(validFraction) is not null)
            {
                throw CommandLineException.BadArguments("--valid and --valid-fraction both name validation data: choose one");
            }

            if (parsed.GetValue(validFraction) is double fraction && !(fraction >= 0 && fraction <= 0.5))
            {
                throw CommandLineException.BadArguments(Text($"--valid-fraction {fraction}: hold out from 0 to 0.5 of the training rows, or give validation rows with --valid"));
            }

            TrainingReport report = new TrainingJob(settings, context).Run();
            context.Output.WriteLine(report.Describe());
            return report.Interrupted ? ExitCodes.Interrupted : ExitCodes.Success;
        });
        return command;
    }

    // Round-trip formatting: the default the option parses is the engine's to the last bit.
    private static string Pair((double Min, double Max) range) => Text($"{range.Min:R},{range.Max:R}");

    private static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    // The step schedule drops the rate at whole epochs: a fraction would have been rounded, 0.3 to 0.
    private static int WholeEpochs(double epochs) => epochs >= 1 && epochs <= int.MaxValue && epochs == Math.Floor(epochs)
        ? (int)epochs
        : throw CommandLineException.BadArguments(Text($"--decay-epochs {epochs}: the step schedule drops the rate after a whole number of epochs, 1 or more"));

    private static (double Min, double Max) Pair(string text, string option)
    {
        string[] parts = text.Split(',');
        return parts.Length == 2
            && ProgramCulture.TryParseDecimal(parts[0], out double min)
            && ProgramCulture.TryParseDecimal(parts[1], out double max)
            ? (min, max)
            : throw CommandLineException.BadArguments($"{option} '{text}': give MIN,MAX, for example 0.08,1");
    }
}
