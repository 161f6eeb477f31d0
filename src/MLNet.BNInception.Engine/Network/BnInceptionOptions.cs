using System.Globalization;

namespace MLNet.BNInception.Engine.Network;

/// <summary>Architecture settings of <see cref="BnInception"/>. The defaults build the paper's network for ImageNet.</summary>
public sealed record BnInceptionOptions
{
    /// <summary>Number of classes of the final linear layer. Default 1000.</summary>
    public int NumClasses { get; init; } = 1000;

    /// <summary>Side of the square input image: a multiple of 32, at least 64. Default 224.</summary>
    public int InputSize { get; init; } = 224;

    /// <summary>Input channels: 3 (color) or 1 (grayscale). Default 3.</summary>
    public int InputChannels { get; init; } = 3;

    /// <summary>
    /// Batch normalization after every convolution. Default true. False builds the paper's
    /// "Inception" baseline: every convolution gets a bias instead. A network whose BN was folded
    /// into its convolutions is built that way too; <see cref="BnInception.BatchNormalization"/>
    /// tells the two apart.
    /// </summary>
    public bool BatchNorm { get; init; } = true;

    /// <summary>The nonlinearity. Default <see cref="Activation.Relu"/>.</summary>
    public Activation Activation { get; init; } = Activation.Relu;

    /// <summary>Dropout probability before the classifier. Default 0: the paper removes dropout with BN.</summary>
    public double Dropout { get; init; }

    /// <summary>ε added to the variance in every BN layer. Default 1e-5.</summary>
    public double BatchNormEpsilon { get; init; } = 1e-5;

    /// <summary>Weight of a new batch in the BN running statistics. Default 0.1.</summary>
    public double BatchNormMomentum { get; init; } = 0.1;

    /// <summary>
    /// The largest input side: 3 × 4096 × 4096 values, an image's, are far from the 2³¹ that the
    /// buffers sized by int (ML.NET's vectors, ONNX Runtime's inputs) hold; at about 26,800 they would
    /// not be. BN-Inception's own side is 224.
    /// </summary>
    public const int MaximumInputSize = 4096;

    /// <summary>The input sides the network accepts: 64, 96, … by 32 up to <see cref="MaximumInputSize"/>.</summary>
    public static bool IsValidInputSize(int size) => size >= 64 && size <= MaximumInputSize && size % 32 == 0;

    /// <summary>
    /// Why <paramref name="size"/> cannot be the side of the input images, or null when it can: the
    /// one wording of the rule, with the setting named as each caller names it (InputSize here,
    /// ImageSize in the ML.NET trainer, --size in the tool).
    /// </summary>
    internal static string? InputSizeProblem(int size, string setting) => IsValidInputSize(size) ? null
        : $"{setting} {size} is not supported: the side must be a multiple of 32 and at least 64 (64, 96, 128, 160, 192, 224, 256, … up to {MaximumInputSize}).";

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad setting and what is allowed.</summary>
    public void Validate()
    {
        if (InputSizeProblem(InputSize, nameof(InputSize)) is string problem)
        {
            throw new ArgumentException(problem, nameof(InputSize));
        }

        if (InputChannels is not (1 or 3))
        {
            throw new ArgumentException($"InputChannels must be 1 or 3, not {InputChannels}.", nameof(InputChannels));
        }

        if (NumClasses < 2)
        {
            throw new ArgumentException($"NumClasses must be at least 2, not {NumClasses}.", nameof(NumClasses));
        }

        // Written as what a value must satisfy, so that NaN, for which every comparison is false, fails.
        if (!(Dropout >= 0 && Dropout < 1))
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Dropout must be in [0, 1), not {Dropout}."), nameof(Dropout));
        }

        // BN adds epsilon in float32 (libtorch's float kernels, and ONNX's attribute): one that float32
        // rounds to 0 or to infinity would divide by zero on a channel of constant values, or by infinity.
        float epsilonInFloat32 = (float)BatchNormEpsilon;
        if (!(epsilonInFloat32 > 0 && float.IsFinite(epsilonInFloat32) && BatchNormMomentum > 0 && BatchNormMomentum <= 1))
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"BatchNormEpsilon must be a finite number above 0 that float32 holds (1e-45 to 3.4e38) and BatchNormMomentum in (0, 1], not {BatchNormEpsilon} and {BatchNormMomentum}."));
        }
    }

    /// <summary>
    /// Throws when <paramref name="shape"/> is not N × <see cref="InputChannels"/> ×
    /// <see cref="InputSize"/> × <see cref="InputSize"/>; the message names <paramref name="what"/>.
    /// </summary>
    public void CheckImageShape(long[] shape, string what, string? parameterName = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length != 4 || shape[1] != InputChannels || shape[2] != InputSize || shape[3] != InputSize)
        {
            throw new ArgumentException(
                $"{what} must be N x {InputChannels} x {InputSize} x {InputSize}, got [{string.Join(", ", shape)}].", parameterName);
        }
    }

    /// <summary>
    /// Throws when <paramref name="shape"/> is not a batch of images the network can be given after
    /// a resize: N × <see cref="InputChannels"/> × H × W, H and W each at least
    /// <see cref="InputSize"/>, square or not. Training with augmentation cuts a random box from
    /// every image and resamples it to the input size; everywhere else (training without
    /// augmentation, validation, evaluation, the scorer) a larger image is resized as a whole. The
    /// message names <paramref name="what"/>.
    /// </summary>
    public void CheckResizableImageShape(long[] shape, string what, string? parameterName = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length == 4 && shape[1] == InputChannels && shape[2] >= InputSize && shape[3] >= InputSize)
        {
            return;
        }

        throw new ArgumentException(
            $"{what} must be N x {InputChannels} x H x W with H and W at least {InputSize} (the network's InputSize; larger images are resized to " +
            $"{InputSize} x {InputSize}), got [{string.Join(", ", shape)}].", parameterName);
    }
}
