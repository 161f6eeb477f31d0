using MLNet.BNInception.Engine.Network;

namespace MLNet.BNInception.Engine.Training;

/// <summary>Why training ended.</summary>
public enum StopReason
{
    /// <summary>Every epoch ran.</summary>
    Completed,

    /// <summary>Early stopping ended it.</summary>
    EarlyStopped,
}

/// <summary>The trained network and how training went. Disposing the result disposes the network.</summary>
/// <param name="Model">The network, with the best weights when validation was used, else the last.</param>
/// <param name="History">Metrics per epoch.</param>
/// <param name="BestEpoch">The epoch whose weights <paramref name="Model"/> holds, counting from 1.</param>
/// <param name="StopReason">Why training ended.</param>
public sealed record TrainingResult(BnInception Model, IReadOnlyList<EpochMetrics> History, int BestEpoch, StopReason StopReason) : IDisposable
{
    /// <summary>Disposes <see cref="Model"/>.</summary>
    public void Dispose() => Model.Dispose();
}
