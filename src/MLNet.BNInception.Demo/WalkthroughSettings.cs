using System.Globalization;
using MLNet.BNInception.DemoData;

namespace MLNet.BNInception.Demo;

/// <summary>What the Fashion-MNIST walk-through runs on; the defaults are the README's main job.</summary>
public sealed record WalkthroughSettings
{
    /// <summary>
    /// The fewest training images: 8% of them are held out for validation, which must not come out
    /// empty, and a few batches of 32 are left to train on.
    /// </summary>
    public const int MinTrainImages = 100;

    /// <summary>Where the image files, the checkpoint, the model and the predictions go.</summary>
    public string OutputFolder { get; init; } = "artifacts/walkthrough";

    /// <summary>Training images (Fashion-MNIST's first ones), <see cref="MinTrainImages"/> to 60,000. Default 12,288: 384 steps of 32.</summary>
    public int TrainImages { get; init; } = 12_288;

    /// <summary>Test images, 1 to 10,000. Default 2,000.</summary>
    public int TestImages { get; init; } = 2_000;

    /// <summary>Passes over the training images. Default 1.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Continue from the checkpoint a cancelled run left.</summary>
    public bool Resume { get; init; }

    /// <summary>Test images whose predictions ONNX Runtime checks. Default 500.</summary>
    public int OnnxCheckImages { get; init; } = 500;

    /// <summary>The training checkpoint in <see cref="OutputFolder"/>: written after every epoch and when training is cancelled.</summary>
    public string CheckpointPath => Path.Combine(Path.GetFullPath(OutputFolder), "training.ckpt");

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming the first setting out of range, by the demo's
    /// option for it where it has one, before any work.
    /// </summary>
    public void Validate()
    {
        if (TrainImages is < MinTrainImages or > FashionMnist.TrainingImages)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"--train-images {TrainImages}: between {MinTrainImages} (8% are held out for validation) and {FashionMnist.TrainingImages:N0}, Fashion-MNIST's training images"));
        }

        if (TestImages is < 1 or > FashionMnist.TestImages)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture,
                $"--test-images {TestImages}: between 1 and {FashionMnist.TestImages:N0}, Fashion-MNIST's test images"));
        }

        if (Epochs < 1)
        {
            throw new ArgumentException($"--epochs {Epochs}: train at least 1 epoch");
        }

        if (OnnxCheckImages < 0)
        {
            throw new ArgumentException($"OnnxCheckImages {OnnxCheckImages}: 0 or more");
        }
    }
}
