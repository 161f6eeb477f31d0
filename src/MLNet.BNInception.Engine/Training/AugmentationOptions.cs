using System.Globalization;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// Random distortions of training images, drawn from libtorch's seeded generator (so a run and its
/// resumption see the same ones) and applied on the training device. Scoring never augments. With
/// augmentation on, training images may be larger than the network's input, at least its size on
/// each side: the random crop is cut from the whole image and resampled to the input size.
/// </summary>
public sealed record AugmentationOptions
{
    /// <summary>Whether to augment at all. Default true.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Smallest and largest crop area as a fraction of the image, for the random resized crop. Default (0.08, 1).</summary>
    public (double Min, double Max) CropScale { get; init; } = (0.08, 1.0);

    /// <summary>Smallest and largest crop aspect ratio (width / height). Default (3/4, 4/3).</summary>
    public (double Min, double Max) CropAspectRatio { get; init; } = (3.0 / 4, 4.0 / 3);

    /// <summary>Whether to flip half the images left to right. Default true.</summary>
    public bool HorizontalFlip { get; init; } = true;

    /// <summary>No augmentation.</summary>
    public static AugmentationOptions None { get; } = new() { Enabled = false };

    internal void Validate()
    {
        // Written as what the bounds must satisfy, so that NaN, for which every comparison is false, fails.
        if (!(CropScale.Min > 0 && CropScale.Max <= 1 && CropScale.Min <= CropScale.Max))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"CropScale must satisfy 0 < min <= max <= 1, not ({CropScale.Min}, {CropScale.Max})."));
        }

        if (!(CropAspectRatio.Min > 0 && CropAspectRatio.Min <= CropAspectRatio.Max && double.IsFinite(CropAspectRatio.Max)))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"CropAspectRatio must satisfy 0 < min <= max < infinity, not ({CropAspectRatio.Min}, {CropAspectRatio.Max})."));
        }
    }
}
