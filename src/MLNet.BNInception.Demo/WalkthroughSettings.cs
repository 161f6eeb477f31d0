namespace MLNet.BNInception.Demo;

/// <summary>What the Fashion-MNIST walk-through runs on; the defaults are the README's main job.</summary>
public sealed record WalkthroughSettings
{
    /// <summary>Where the image files, the checkpoint, the model and the predictions go.</summary>
    public string OutputFolder { get; init; } = "artifacts/walkthrough";

    /// <summary>Training images (Fashion-MNIST's first ones). Default 12,288: 384 steps of 32.</summary>
    public int TrainImages { get; init; } = 12_288;

    /// <summary>Test images. Default 2,000.</summary>
    public int TestImages { get; init; } = 2_000;

    /// <summary>Passes over the training images. Default 1.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Continue from the checkpoint a cancelled run left.</summary>
    public bool Resume { get; init; }

    /// <summary>Test images whose predictions ONNX Runtime checks. Default 500.</summary>
    public int OnnxCheckImages { get; init; } = 500;
}
