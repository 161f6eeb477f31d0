using System.Globalization;
using System.Text.Json.Serialization;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// How the learning rate changes over training, as a multiplier of the base rate. Schedules are
/// functions of progress only (no state), so a resumed run gets exactly the rates it would have had.
/// Every schedule can start with a linear warm-up.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(ConstantSchedule), "constant")]
[JsonDerivedType(typeof(ExponentialSchedule), "exponential")]
[JsonDerivedType(typeof(StepSchedule), "step")]
[JsonDerivedType(typeof(CosineSchedule), "cosine")]
public abstract record LearningRateSchedule
{
    /// <summary>Epochs over which the rate rises linearly to the schedule's value. Default 0.</summary>
    public double WarmupEpochs { get; init; }

    /// <summary>The multiplier of the base rate after <paramref name="epochProgress"/> epochs (fractional) of <paramref name="totalEpochs"/>.</summary>
    public double Factor(double epochProgress, int totalEpochs)
    {
        double factor = DecayFactor(epochProgress, totalEpochs);
        return WarmupEpochs > 0 && epochProgress < WarmupEpochs ? factor * Math.Max(epochProgress, 1e-3) / WarmupEpochs : factor;
    }

    /// <summary>The schedule's own multiplier, before warm-up.</summary>
    protected abstract double DecayFactor(double epochProgress, int totalEpochs);

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming the first setting out of range. A comparison
    /// with NaN is false, so each range is written as what a value must satisfy: a NaN fails it.
    /// </summary>
    internal virtual void Validate()
    {
        if (!(WarmupEpochs >= 0 && double.IsFinite(WarmupEpochs)))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The schedule's WarmupEpochs must be a finite number of epochs, 0 or more, not {WarmupEpochs}."), nameof(WarmupEpochs));
        }
    }

    // The factor per period: at 0 or below the rate would stop training or turn it into ascent. Above
    // 1 the rate grows, as a learning-rate range test wants, so that is allowed.
    private protected static void CheckGamma(double gamma)
    {
        if (!(gamma > 0 && double.IsFinite(gamma)))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The schedule's Gamma, its factor per period, must be a finite number above 0, not {gamma}."), "Gamma");
        }
    }
}

/// <summary>The base rate throughout.</summary>
public sealed record ConstantSchedule : LearningRateSchedule
{
    /// <inheritdoc/>
    protected override double DecayFactor(double epochProgress, int totalEpochs) => 1;
}

/// <summary>
/// Exponential decay, the paper's schedule: the rate is multiplied by <paramref name="Gamma"/> every
/// <paramref name="EveryEpochs"/> epochs, in whole steps at those boundaries, or smoothly at every
/// training step when <paramref name="PerStep"/> is set.
/// </summary>
/// <param name="Gamma">Multiplier per period.</param>
/// <param name="EveryEpochs">Length of a period in epochs; default 1.</param>
/// <param name="PerStep">Decay continuously at every step instead of at period boundaries; default false.</param>
public sealed record ExponentialSchedule(double Gamma, double EveryEpochs = 1, bool PerStep = false) : LearningRateSchedule
{
    /// <inheritdoc/>
    protected override double DecayFactor(double epochProgress, int totalEpochs)
    {
        double periods = epochProgress / EveryEpochs;
        return Math.Pow(Gamma, PerStep ? periods : Math.Floor(periods));
    }

    internal override void Validate()
    {
        base.Validate();
        CheckGamma(Gamma);
        if (!(EveryEpochs > 0 && double.IsFinite(EveryEpochs)))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The exponential schedule's EveryEpochs, its period, must be a finite number of epochs above 0, not {EveryEpochs}."), nameof(EveryEpochs));
        }
    }
}

/// <summary>The rate multiplied by <paramref name="Gamma"/> every <paramref name="StepEpochs"/> epochs.</summary>
/// <param name="StepEpochs">Epochs between drops.</param>
/// <param name="Gamma">Multiplier at each drop; default 0.1.</param>
public sealed record StepSchedule(int StepEpochs, double Gamma = 0.1) : LearningRateSchedule
{
    /// <inheritdoc/>
    protected override double DecayFactor(double epochProgress, int totalEpochs) => Math.Pow(Gamma, Math.Floor(epochProgress / StepEpochs));

    internal override void Validate()
    {
        base.Validate();
        CheckGamma(Gamma);
        if (StepEpochs < 1)
        {
            throw new ArgumentException($"The step schedule's StepEpochs must be at least 1, not {StepEpochs}.", nameof(StepEpochs));
        }
    }
}

/// <summary>Half a cosine from the base rate at the start down to <paramref name="MinimumFactor"/> times it at the end.</summary>
/// <param name="MinimumFactor">The final multiplier; default 0.</param>
public sealed record CosineSchedule(double MinimumFactor = 0) : LearningRateSchedule
{
    /// <inheritdoc/>
    protected override double DecayFactor(double epochProgress, int totalEpochs) =>
        MinimumFactor + ((1 - MinimumFactor) * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1, epochProgress / totalEpochs))));

    internal override void Validate()
    {
        base.Validate();
        if (!(MinimumFactor >= 0 && MinimumFactor <= 1))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"The cosine schedule's MinimumFactor must be in [0, 1], not {MinimumFactor}."), nameof(MinimumFactor));
        }
    }
}
