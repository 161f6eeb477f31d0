using Microsoft.ML;
using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Onnx;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Trainers;

// The trainer's settings; the trainer itself is in BnInceptionMulticlassTrainer.cs.
public sealed partial class BnInceptionMulticlassTrainer
{
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

        /// <summary>
        /// Every training setting of the engine. Default <see cref="TrainerOptions.PaperBnX30"/>. The
        /// shortcuts below (<see cref="Epochs"/>, <see cref="BatchSize"/>, …) read and write it, so
        /// assigning it replaces what they set before: in an object initializer, set <c>Training</c>
        /// first and the shortcuts after it (<c>new Options { Training = TrainerOptions.PaperBnX5, Epochs = 3 }</c>),
        /// or put every setting in <c>Training</c>.
        /// </summary>
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

        /// <summary>
        /// Seed of initialisation, shuffling, augmentation, dropout and the validation split: the trainer's only source of
        /// randomness (the MLContext's seed does not reach it, ML.NET keeping a context's random source internal).
        /// Shortcut for <see cref="Training"/>.Seed; default 0.
        /// </summary>
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

        /// <summary>
        /// Stops training within one batch (writing a checkpoint first when a path is set), with an
        /// OperationCanceledException. This token is the way to stop it: <c>MLContext.CancelExecution()</c>
        /// does not, because ML.NET keeps a context's cancelled state internal to itself.
        /// </summary>
        public CancellationToken CancellationToken { get; set; }

        /// <summary>
        /// Rows in ML.NET's shuffle pool, used when the data view cannot be read in any order (a text
        /// file read directly, say). Null (default) takes as many as fit in 1 GiB of pixels, between
        /// 1,000 and 100,000 (1,783 colour images at 224×224). With <c>AppendCacheCheckpoint</c> before
        /// the trainer the view reshuffles fully instead.
        /// </summary>
        public int? ShufflePoolSize { get; set; }

        /// <summary>
        /// Refuse, as the engine does, training rows that leave a last batch of one image, instead of
        /// leaving that image out of each epoch with a warning. The command-line tool's: its user chose
        /// --batch, and its error says to pass --drop-last or another --batch.
        /// </summary>
        internal bool RefuseLastBatchOfOne { get; set; }

        /// <summary>
        /// Called, with the training rows and the pool's size, instead of the warning in the <see cref="MLContext"/>'s log
        /// when the training rows come grouped by label and each pass reads them through a shuffle pool smaller than they are.
        /// The command-line tool's, which words the advice for its user: the log's (AppendCacheCheckpoint) is for code that
        /// builds the pipeline, while the tool's user chooses between --shuffle-pool and a file shuffled beforehand.
        /// </summary>
        internal Action<long, int>? OnRowsGroupedInAPool { get; set; }

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

                if (OnnxExportOptions.ImageSizeProblem(ImageSize, inputSize) is string imageSizeProblem)
                {
                    throw new ArgumentOutOfRangeException(nameof(ImageSize), ImageSize,
                        $"{imageSizeProblem} Resize the images to at least {inputSize}x{inputSize} with ResizeImages, or lower InputSize.");
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
