namespace MLNet.BNInception.Engine.Inference;

/// <summary>How <see cref="BnInceptionScorer"/> runs the network. The defaults are the fastest exact settings on a CPU.</summary>
public sealed record ScorerOptions
{
    /// <summary>Fold BN into the convolutions. Default true; false scores with the BN layers in eval mode (same results, slower).</summary>
    public bool FoldBatchNorm { get; init; } = true;

    /// <summary>Images per forward pass. Default 64.</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>The element type of the computation. Default <see cref="ScoringPrecision.Float32"/>.</summary>
    public ScoringPrecision Precision { get; init; } = ScoringPrecision.Float32;

    /// <summary>Lay weights and activations out channels-last (<see cref="Network.ChannelsLast"/>). Default true: libtorch's fastest CPU kernels.</summary>
    public bool ChannelsLast { get; init; } = true;

    /// <summary>The device: "cpu" (default), "cuda" or "cuda:N". A device the libtorch backend lacks is an error.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public void Validate()
    {
        if (BatchSize < 1)
        {
            throw new ArgumentException($"BatchSize must be at least 1, not {BatchSize}.", nameof(BatchSize));
        }

        if (!Enum.IsDefined(Precision))
        {
            throw new ArgumentException($"Precision {Precision} is not one of {string.Join(", ", Enum.GetNames<ScoringPrecision>())}.", nameof(Precision));
        }
    }
}
