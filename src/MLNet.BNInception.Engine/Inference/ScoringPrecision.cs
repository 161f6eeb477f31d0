namespace MLNet.BNInception.Engine.Inference;

/// <summary>The element type the scorer computes in. Its inputs and outputs are float32 either way.</summary>
public enum ScoringPrecision
{
    /// <summary>32-bit floats throughout: the trained network's own results.</summary>
    Float32,

    /// <summary>
    /// Weights and activations in bfloat16 (8 bits of mantissa): about 1.8× the float32 rate on CPUs
    /// with AVX512-BF16 or AMX, with top-1 predictions that agree with float32's on at least 99% of
    /// Fashion-MNIST's test set (the engine's tests check it on a trained model). Probabilities
    /// differ from float32's in the second or third digit.
    /// </summary>
    BFloat16,
}
