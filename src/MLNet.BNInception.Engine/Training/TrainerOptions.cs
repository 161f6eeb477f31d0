using System.Globalization;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// How <see cref="BnInceptionTrainer"/> trains. The defaults are the paper's BN-x30 recipe
/// (docs/paper.md §3, <see cref="DefaultPreset"/>) with a small batch for a 2-core machine;
/// <see cref="For(TrainingPreset)"/> gives each preset's settings, and <see cref="PaperBnX5"/> and
/// <see cref="PaperBnX30"/> name them.
/// </summary>
public sealed record TrainerOptions
{
    /// <summary>The Inception baseline's learning rate in the paper (docs/paper.md §3).</summary>
    public const double InceptionLearningRate = 0.0015;

    /// <summary>
    /// The baseline's L2 weight decay. The paper does not print it; 2e-4 is the BVLC GoogLeNet solver's
    /// value, the common reading of the Inception setup the paper starts from.
    /// </summary>
    public const double InceptionWeightDecay = 2e-4;

    /// <summary>Passes over the training data. Default 10.</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Images per step; at least 2, because BN needs batch statistics. Default 32.</summary>
    public int BatchSize { get; init; } = 32;

    /// <summary>Base learning rate. Default 0.045 (BN-x30: 30 × the baseline's 0.0015).</summary>
    public double LearningRate { get; init; } = 30 * InceptionLearningRate;

    /// <summary>SGD momentum. Default 0.9.</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>Nesterov momentum. Default false.</summary>
    public bool Nesterov { get; init; }

    /// <summary>L2 weight decay on convolution and linear weights. Default 4e-5: the baseline's, reduced 5× (docs/paper.md §3).</summary>
    public double WeightDecay { get; init; } = InceptionWeightDecay / 5;

    /// <summary>Also decay BN γ/β and biases. Default false: they are excluded, as is usual.</summary>
    public bool DecayBatchNormAndBias { get; init; }

    /// <summary>
    /// The learning-rate schedule. Default: exponential decay 6× faster than the baseline's (docs/paper.md
    /// §3); the baseline (GoogLeNet) decays by 4% every 8 epochs, so this decays by 4% every 8/6 epochs.
    /// </summary>
    public LearningRateSchedule Schedule { get; init; } = new ExponentialSchedule(0.96, EveryEpochs: 8.0 / 6);

    /// <summary>Label smoothing ε of the cross-entropy loss. Default 0.</summary>
    public double LabelSmoothing { get; init; }

    /// <summary>
    /// Drop the last batch of an epoch when it is short. Default false: it is kept, and must hold at least 2 images (the
    /// ML.NET trainer leaves out a last batch of 1 image instead, with a warning, as its folds' sizes are ML.NET's choice).
    /// </summary>
    public bool DropLastBatch { get; init; }

    /// <summary>Training-time image distortions. Default: random resized crop and horizontal flip.</summary>
    public AugmentationOptions Augmentation { get; init; } = new();

    /// <summary>Seed of everything random: initialisation, shuffling, augmentation, dropout, the validation split. Default 0.</summary>
    public ulong Seed { get; init; }

    /// <summary>Fraction of the training data held out for validation when no validation set is given. Default 0 (none).</summary>
    public double ValidationFraction { get; init; }

    /// <summary>Stop when validation stops improving; null (default) trains every epoch. Needs validation data.</summary>
    public EarlyStoppingOptions? EarlyStopping { get; init; }

    /// <summary>Where to write the checkpoint after every epoch and on cancellation; null (default) for none.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>
    /// Lay weights and activations out channels-last (<see cref="Network.ChannelsLast"/>), in which
    /// libtorch's CPU kernels run fastest. Default true. Results equal the contiguous layout's within
    /// float rounding.
    /// </summary>
    public bool ChannelsLast { get; init; } = true;

    /// <summary>
    /// Float32 (default) or <see cref="TrainingPrecision.BFloat16Mixed"/>: bfloat16 convolutions with
    /// float32 weights, statistics and optimizer, about twice as fast on CPUs with AVX512-BF16.
    /// Checkpoints hold float32 state in either case, so a run can resume in the other precision.
    /// </summary>
    public TrainingPrecision Precision { get; init; } = TrainingPrecision.Float32;

    /// <summary>The device to train on: "cpu" (default), "cuda" or "cuda:N". A device the libtorch backend lacks is an error before training starts.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// How many steps' losses and correct counts stay on the device before the host reads them: every
    /// <see cref="TrainingProgress"/> report, the epoch's sums and the check for a non-finite loss wait
    /// for that read. Reading a CUDA tensor waits for all the work queued before it, so a read every
    /// step leaves the GPU idle while the host prepares the next; on the CPU a read costs nothing. Null
    /// (default): <see cref="StepsPerHostReadOnCpu"/> on the CPU, <see cref="StepsPerHostReadOnCuda"/>
    /// on CUDA. Trained weights and epoch metrics do not depend on it; a larger value makes progress
    /// arrive in bursts of that many steps (cancellation is still checked before every batch), and a
    /// diverged run take up to that many steps from the first non-finite loss on before it stops
    /// (the error names that step). At least 1, at most <see cref="MaxStepsPerHostRead"/>.
    /// </summary>
    public int? StepsPerHostRead { get; init; }

    /// <summary>The default <see cref="StepsPerHostRead"/> on the CPU: every step, as a read there does not wait.</summary>
    public const int StepsPerHostReadOnCpu = 1;

    /// <summary>The default <see cref="StepsPerHostRead"/> on a CUDA device.</summary>
    public const int StepsPerHostReadOnCuda = 16;

    /// <summary>The largest <see cref="StepsPerHostRead"/>.</summary>
    public const int MaxStepsPerHostRead = 10_000;

    /// <summary>
    /// Weights to start from instead of the seeded initialisation, to train further: a PyTorch
    /// state dict (<see cref="Interop.PyTorchStateDict.Save(IEnumerable{KeyValuePair{string, TorchSharp.torch.Tensor}}, string)"/>,
    /// or Python's <c>torch.save(model.state_dict())</c>) or a training checkpoint (its best weights
    /// when it has them, else its last). The keys and shapes must match the network. Null (default)
    /// initialises from <see cref="Seed"/>. Only the weights are taken: the optimizer, the schedule
    /// and the epoch count start afresh.
    /// </summary>
    public string? InitialWeightsPath { get; init; }

    /// <summary>
    /// The data the caller prepared, kept in checkpoints beside these options (not in them: the JSON
    /// of the options holds their public settings only) and handed back on resume. Null when the
    /// caller describes none, as for tensors.
    /// </summary>
    internal TrainingData? Data { get; init; }

    /// <summary>The preset whose settings a <c>new TrainerOptions()</c> has.</summary>
    public const TrainingPreset DefaultPreset = TrainingPreset.BnX30;

    /// <summary>The paper's BN-x5: 5 × the baseline's learning rate, L2 reduced 5×, decay 6× faster (no dropout: the network's default, not set here).</summary>
    public static TrainerOptions PaperBnX5 { get; } = new() { LearningRate = 5 * InceptionLearningRate };

    /// <summary>The paper's BN-x30: as BN-x5 with 30 × the baseline's learning rate.</summary>
    public static TrainerOptions PaperBnX30 { get; } = new() { LearningRate = 30 * InceptionLearningRate };

    /// <summary>The settings of <paramref name="preset"/>: the one place that says what each preset means.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="preset"/> is not a defined preset.</exception>
    public static TrainerOptions For(TrainingPreset preset) => preset switch
    {
        TrainingPreset.BnX5 => PaperBnX5,
        TrainingPreset.BnX30 => PaperBnX30,
        _ => throw new ArgumentOutOfRangeException(nameof(preset), preset, $"Choose one of {string.Join(", ", Enum.GetNames<TrainingPreset>())}."),
    };

    /// <summary><see cref="StepsPerHostRead"/>, or its default for a device of <paramref name="deviceType"/>.</summary>
    internal int StepsPerHostReadOn(TorchSharp.DeviceType deviceType) =>
        StepsPerHostRead ?? (deviceType == TorchSharp.DeviceType.CUDA ? StepsPerHostReadOnCuda : StepsPerHostReadOnCpu);

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (BatchSize < 2)
        {
            throw new ArgumentException($"BatchSize must be at least 2: batch normalization needs batch statistics (got {BatchSize}).", nameof(BatchSize));
        }

        // Each range is written as what a value must satisfy, so that NaN, for which every comparison is false, fails it.
        if (Epochs < 1) throw new ArgumentException($"Epochs must be at least 1, not {Epochs}.", nameof(Epochs));
        if (!(LearningRate > 0 && double.IsFinite(LearningRate))) throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"LearningRate must be a finite number above 0, not {LearningRate}."), nameof(LearningRate));
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Momentum must be in [0, 1), not {Momentum}."), nameof(Momentum));
        if (!(WeightDecay >= 0 && double.IsFinite(WeightDecay))) throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"WeightDecay must be a finite number, 0 or more, not {WeightDecay}."), nameof(WeightDecay));
        if (Nesterov && Momentum <= 0) throw new ArgumentException("Nesterov needs Momentum > 0.", nameof(Nesterov));
        if (!(LabelSmoothing >= 0 && LabelSmoothing < 1)) throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"LabelSmoothing must be in [0, 1), not {LabelSmoothing}."), nameof(LabelSmoothing));
        if (!(ValidationFraction >= 0 && ValidationFraction < 1)) throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"ValidationFraction must be in [0, 1), not {ValidationFraction}."), nameof(ValidationFraction));
        if (StepsPerHostRead is < 1 or > MaxStepsPerHostRead)
        {
            throw new ArgumentException($"StepsPerHostRead must be between 1 and {MaxStepsPerHostRead} (or null for the device's default), not {StepsPerHostRead}.",
                nameof(StepsPerHostRead));
        }

        if (!Enum.IsDefined(Precision)) throw new ArgumentException($"Precision must be Float32 or BFloat16Mixed, not {Precision}.", nameof(Precision));
        ArgumentException.ThrowIfNullOrWhiteSpace(Device);
        ArgumentNullException.ThrowIfNull(Schedule);
        Schedule.Validate();
        ArgumentNullException.ThrowIfNull(Augmentation);
        Augmentation.Validate();
        EarlyStopping?.Validate();
    }
}
