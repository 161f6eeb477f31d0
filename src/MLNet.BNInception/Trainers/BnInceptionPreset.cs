using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Trainers;

/// <summary>
/// The paper's training recipes (docs/paper.md §3): the learning rate as a multiple of the Inception
/// baseline's 0.0015. Each value is the engine's <see cref="TrainingPreset"/> of the same name, so
/// <see cref="TrainerOptions.For(TrainingPreset)"/> says what it sets.
/// </summary>
public enum BnInceptionPreset
{
    /// <summary>BN-x5: learning rate 0.0075, L2 reduced 5×, decay 6× faster; no dropout is the architecture's default (Dropout 0), which a preset does not set.</summary>
    BnX5 = (int)TrainingPreset.BnX5,

    /// <summary>BN-x30: as BN-x5 with learning rate 0.045, the paper's best single network.</summary>
    BnX30 = (int)TrainingPreset.BnX30,
}
