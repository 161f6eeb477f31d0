using System.Globalization;

namespace MLNet.BNInception.Engine.Network;

/// <summary>
/// Per-channel normalisation of pixels in [0, 1]: (x − mean) / std, one value per input channel.
/// </summary>
/// <param name="Mean">Per-channel mean.</param>
/// <param name="Std">Per-channel standard deviation (all positive).</param>
public sealed record ImageNormalization(IReadOnlyList<float> Mean, IReadOnlyList<float> Std)
{
    /// <summary>ImageNet's RGB statistics, the usual choice for color images.</summary>
    public static ImageNormalization ImageNet { get; } = new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>Number of channels it normalises.</summary>
    public int Channels => Mean.Count;

    /// <summary>Throws when the lists differ in length, do not match <paramref name="channels"/>, or a std is not positive.</summary>
    public void Validate(int channels)
    {
        if (Mean.Count != Std.Count || Mean.Count != channels)
        {
            throw new ArgumentException($"The normalisation has {Mean.Count} means and {Std.Count} standard deviations; the model has {channels} input channels.");
        }

        if (Std.Any(s => !(s > 0)))
        {
            throw new ArgumentException("Every normalisation standard deviation must be positive.");
        }
    }

    /// <summary>
    /// A readable description, e.g. for a model's documentation: the same text in every culture, since
    /// an exported ONNX file records it (its input's description and <c>input_normalization</c>).
    /// </summary>
    public override string ToString() =>
        $"(x - [{string.Join(", ", Mean.Select(Number))}]) / [{string.Join(", ", Std.Select(Number))}]";

    private static string Number(float value) => value.ToString(CultureInfo.InvariantCulture);
}
