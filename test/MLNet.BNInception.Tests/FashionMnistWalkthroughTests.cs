using MLNet.BNInception.Demo;

namespace MLNet.BNInception.Tests;

/// <summary>
/// The README's main job end to end, which is also the learning check through a whole ML.NET
/// pipeline: Fashion-MNIST PNG files and CSVs, ML.NET's loaders and image transforms, the trainer,
/// Evaluate, Save and Load, predictions to CSV, ONNX Runtime on the export. Every step as the demo
/// runs it, on a quarter of its training images (3,072: 89 steps once 8% are held out, about the
/// budget of the engine's learning test) and a quarter of its test images (500, scored three times:
/// evaluated, evaluated again after Save and Load, and written as predictions, and the 500 that ONNX
/// Runtime checks in the demo too); the README's figures come from the demo itself.
/// One epoch this short lands a few points either way: on one thread of a processor without AVX-512
/// (2026-12-06), 3,072 training images gave 71.9% of the demo's 2,000 test images right (71.7% of the
/// first 1,000, and 73.6% of the first 500, which this test scores), 4,096 gave 64.6% and 6,144 gave 72.65%. So the bound is 60%:
/// six times chance (10%), and below the spread of such runs. The assertions are on accuracy and
/// agreement, not time.
/// </summary>
[Trains]
public class FashionMnistWalkthroughTests
{
    private const int TestImages = 500;

    [Test]
    public void ReachesSixtyPercentTestAccuracyAndEveryCheckAgrees()
    {
        using var folder = new TemporaryDirectory();
        using var log = new StringWriter();
        WalkthroughResult result = FashionMnistWalkthrough.Run(new WalkthroughSettings { OutputFolder = folder.Path, TrainImages = 3_072, TestImages = TestImages }, log);
        TestContext.Out.WriteLine(log.ToString());

        Assert.That(result.Metrics.MicroAccuracy, Is.GreaterThanOrEqualTo(0.60));
        Assert.That(result.ReloadedMetrics.MicroAccuracy, Is.EqualTo(result.Metrics.MicroAccuracy), "the saved and loaded pipeline scores the same");
        Assert.That(result.ReloadedMetrics.LogLoss, Is.EqualTo(result.Metrics.LogLoss).Within(1e-4));
        Assert.That(result.OnnxAgreement, Is.EqualTo(result.OnnxChecked));
        Assert.That(result.Predictions, Is.EqualTo(TestImages));
        string[] lines = File.ReadAllLines(result.PredictionsPath);
        Assert.That(lines[0], Is.EqualTo("ImagePath,PredictedLabel,Probability"));
        Assert.That(lines, Has.Length.EqualTo(TestImages + 1));
        Assert.That(lines.Skip(1).Select(line => line.Split(',')[0]), Is.EqualTo(Enumerable.Range(0, TestImages).Select(i => $"t10k/{i}.png")),
            "every listed image, in order");
        Assert.That(File.ReadAllLines(Path.ChangeExtension(result.CurvesPath, ".csv")), Has.Length.EqualTo(2), "the curves' header and the one epoch");
        Assert.That(File.ReadAllBytes(result.CurvesPath)[..8], Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }), "a PNG");
        Assert.That(Directory.EnumerateFiles(folder.Path, "*.tmp*", SearchOption.AllDirectories), Is.Empty, "no temporary file is left behind");
    }
}
