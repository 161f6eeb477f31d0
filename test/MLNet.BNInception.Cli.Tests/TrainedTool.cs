using MLNet.BNInception.DemoData;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// Fashion-MNIST as PNG files listed in CSV files (Debian's dataset-fashion-mnist), and a model the
/// installed tool trained on them: made once, on first use, for every test that needs them.
/// </summary>
internal static class TrainedTool
{
    private static readonly Lazy<Context> Shared = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The shared data and model.</summary>
    public static Context Get() => Shared.Value;

    /// <summary>Deletes the shared data and model, if making them was begun (at the end of the test run).</summary>
    public static void Delete()
    {
        if (_folder is not null && Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private static string? _folder;

    /// <param name="Folder">Where everything is.</param>
    /// <param name="Files">800 training, 200 validation and <see cref="TestImages"/> test images with their CSV lists.</param>
    /// <param name="ModelPath">The model file <c>bninception train</c> wrote, in mixed precision (the float32 path is the ML.NET trainer's tests').</param>
    /// <param name="TrainOutput">What the train command printed (standard output and error).</param>
    /// <param name="CurvesPath">The training curves it drew (<c>--curves</c>), with curves.csv beside them.</param>
    internal sealed record Context(string Folder, FashionMnistFiles.Files Files, string ModelPath, string TrainOutput, string CurvesPath);

    /// <summary>The test images, which many tests score: enough for a 99% agreement to mean something, few for speed.</summary>
    public const int TestImages = 500;

    /// <summary>
    /// The passes over the 800 training images: two give the confident predictions that the bfloat16
    /// agreement test needs (seen on a processor without AVX-512: 499 of 500 agree), and a third took
    /// about 25 s of the suite's time.
    /// </summary>
    public const int Epochs = 2;

    /// <summary>The side of the images the model reads: the smallest BN-Inception takes, for speed.</summary>
    public const int ImageSize = 64;

    private static Context Create()
    {
        // Lives for the test run: InstalledTool's one-time tear-down deletes it.
        string folder = Path.Combine(Path.GetTempPath(), "bninception-cli-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        _folder = folder;
        FashionMnistFiles.Files files = FashionMnistFiles.Write(Path.Combine(folder, "data"), 800, 200, TestImages);
        string model = Path.Combine(folder, "model.zip");
        ExternalProcess.Result trained = InstalledTool.Succeed(folder, "train", "--train", files.TrainCsv, "--valid", files.ValidationCsv, "--image-folder", files.ImageFolder,
            "--size", ImageSize.ToString(System.Globalization.CultureInfo.InvariantCulture), "--channels", "gray", "--epochs", Epochs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--batch", "32",
            "--schedule", "cosine", "--crop-scale", "0.7,1", "--precision", "bfloat16-mixed", "--out", model,
            "--curves", Path.Combine(folder, "curves.png"));
        return new Context(folder, files, model, trained.Output + trained.Error, Path.Combine(folder, "curves.png"));
    }
}
