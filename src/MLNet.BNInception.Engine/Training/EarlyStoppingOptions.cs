using System.Globalization;

namespace MLNet.BNInception.Engine.Training;

/// <summary>The validation metric early stopping watches.</summary>
public enum StoppingMetric
{
    /// <summary>Mean cross-entropy on the validation data; lower is better.</summary>
    ValidationLoss,

    /// <summary>Top-1 accuracy on the validation data; higher is better.</summary>
    ValidationAccuracy,
}

/// <summary>Stops training when the metric has not improved by <see cref="MinDelta"/> for <see cref="Patience"/> epochs; the best weights are kept.</summary>
public sealed record EarlyStoppingOptions
{
    /// <summary>The metric watched. Default <see cref="StoppingMetric.ValidationLoss"/>.</summary>
    public StoppingMetric Metric { get; init; } = StoppingMetric.ValidationLoss;

    /// <summary>Epochs without improvement before stopping. Default 3.</summary>
    public int Patience { get; init; } = 3;

    /// <summary>The least change that counts as an improvement. Default 0.</summary>
    public double MinDelta { get; init; }

    internal void Validate()
    {
        if (Patience < 1 || !(MinDelta >= 0 && double.IsFinite(MinDelta)))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"EarlyStopping needs Patience >= 1 and a finite MinDelta >= 0, not {Patience} and {MinDelta}."));
        }
    }

    internal bool Improves(double candidate, double best) =>
        Metric == StoppingMetric.ValidationLoss ? candidate < best - MinDelta : candidate > best + MinDelta;
}
