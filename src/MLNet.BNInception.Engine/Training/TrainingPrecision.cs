namespace MLNet.BNInception.Engine.Training;

/// <summary>The arithmetic a training step runs in (<see cref="TrainerOptions.Precision"/>).</summary>
public enum TrainingPrecision
{
    /// <summary>Everything in float32.</summary>
    Float32,

    /// <summary>
    /// Mixed precision: convolutions and the classifier compute in bfloat16 on casts of float32
    /// weights; batch normalization's statistics, the loss, the gradients' accumulation, the
    /// optimizer's state and the SGD step stay in float32 (<see cref="Network.BnInception.UseBFloat16Compute"/>).
    /// About twice float32's speed on CPUs with AVX512-BF16, with float32's accuracy.
    /// </summary>
    BFloat16Mixed,
}
