namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// The paper's training recipes (docs/paper.md §3) by name. What each one sets is
/// <see cref="TrainerOptions.For(TrainingPreset)"/>'s to say, and no one else's: the ML.NET trainer's
/// <c>BnInceptionPreset</c> and the tool's <c>--preset</c> name these.
/// </summary>
public enum TrainingPreset
{
    /// <summary>
    /// BN-x5: 5 × the Inception baseline's learning rate, L2 reduced 5×, decay 6× faster; no dropout is
    /// the network's default (<c>BnInceptionOptions.Dropout</c> 0), which a preset does not set.
    /// </summary>
    BnX5,

    /// <summary>BN-x30: as BN-x5 with 30 × the baseline's learning rate, the paper's best single network.</summary>
    BnX30,
}
