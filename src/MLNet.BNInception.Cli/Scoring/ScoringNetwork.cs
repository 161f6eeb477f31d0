namespace MLNet.BNInception.Cli.Scoring;

/// <summary>The network of a saved model, run on a batch of prepared images at a time.</summary>
internal interface IScoringNetwork : IDisposable
{
    /// <summary>The engine and its settings, for the job's report: "ONNX Runtime 1.32.0, float32, 2 threads".</summary>
    string Description { get; }

    /// <summary>The network's input: the name of the pipeline's feature column.</summary>
    string InputName { get; }

    /// <summary>The values of one image (channels × side × side, planar).</summary>
    int FeatureLength { get; }

    /// <summary>The class names, in the order of the probabilities.</summary>
    IReadOnlyList<string> ClassLabels { get; }

    /// <summary>Writes the class probabilities of the first <paramref name="count"/> images of <paramref name="features"/> to <paramref name="probabilities"/> (count × classes).</summary>
    void Score(float[] features, int count, float[] probabilities);
}
