namespace MLNet.BNInception.Engine.Network;

/// <summary>
/// What a <see cref="BnInception"/> does with batch normalization: how it was trained, and whether its
/// BN has since been folded into the convolutions for inference. A folded network and one trained
/// without BN are built alike (no BN layers, every convolution with a bias), so
/// <see cref="BnInceptionOptions.BatchNorm"/> is false for both; this says which one it is.
/// </summary>
public enum BatchNormalization
{
    /// <summary>A BN layer after every convolution (<see cref="BnInceptionOptions.BatchNorm"/> true), as trained.</summary>
    Layers,

    /// <summary>
    /// Trained with BN, then folded into the convolutions (docs/paper.md §1): every convolution's
    /// weights and bias carry BN's scale and shift, and the network has no BN layers left.
    /// </summary>
    FoldedIntoConvolutions,

    /// <summary>Trained without batch normalization: the paper's "Inception" baseline, every convolution with a bias.</summary>
    None,
}

/// <summary>Descriptions of <see cref="BatchNormalization"/> for messages and model descriptions.</summary>
public static class BatchNormalizationDescriptions
{
    /// <summary>
    /// What the network does with batch normalization, in words: "batch normalization layers",
    /// "batch normalization folded into the convolutions" or "trained without batch normalization".
    /// </summary>
    public static string Describe(this BatchNormalization batchNormalization) => batchNormalization switch
    {
        BatchNormalization.Layers => "batch normalization layers",
        BatchNormalization.FoldedIntoConvolutions => "batch normalization folded into the convolutions",
        BatchNormalization.None => "trained without batch normalization",
        _ => throw new ArgumentOutOfRangeException(nameof(batchNormalization), batchNormalization, "not a BatchNormalization value"),
    };
}
