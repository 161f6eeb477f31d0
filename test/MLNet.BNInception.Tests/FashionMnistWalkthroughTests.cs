using MLNet.BNInception.Demo;

namespace MLNet.BNInception.Tests;

/// <summary>
/// The README's main job end to end, which is also the learning check through a whole ML.NET
/// pipeline: Fashion-MNIST PNG files and CSVs, ML.NET's loaders and image transforms, the trainer,
/// Evaluate, Save and Load, predictions to CSV, ONNX Runtime on the export. Every step as the demo
/// runs it, on half its training images (6,144: about a minute on 2 cores, where the whole budget
/// takes two; the README's figures come from the demo itself). The assertions are on accuracy and
/// agreement, not time.
/// </summary>
[Trains]
public class FashionMnistWalkthroughTests
{
    [Test]
    public void ReachesSeventyPercentTestAccuracyAndEveryCheckAgrees()
    {
        using var folder = new TemporaryDirectory();
        using var log = new StringWriter();
        WalkthroughResult result = FashionMnistWalkthrough.Run(new WalkthroughSettings { OutputFolder = folder.Path, TrainImages = 6_144 }, log);
        TestContext.Out.WriteLine(log.ToString());

        Assert.That(result.Metrics.MicroAccuracy, Is.GreaterThanOrEqualTo(0.70));
        Assert.That(result.ReloadedMetrics.MicroAccuracy, Is.EqualTo(result.Metrics.MicroAccuracy), "the saved and loaded pipeline scores the same");
        Assert.That(result.ReloadedMetrics.LogLoss, Is.EqualTo(result.Metrics.LogLoss).Within(1e-4));
        Assert.That(result.OnnxAgreement, Is.EqualTo(result.OnnxChecked));
        Assert.That(result.Predictions, Is.EqualTo(2000));
        string[] lines = File.ReadAllLines(result.PredictionsPath);
        Assert.That(lines[0], Is.EqualTo("ImagePath,PredictedLabel,Probability"));
        Assert.That(lines, Has.Length.EqualTo(2001));
        Assert.That(lines.Skip(1).Select(line => line.Split(',')[0]), Is.EqualTo(Enumerable.Range(0, 2000).Select(i => $"t10k/{i}.png")),
            "every listed image, in order");
        Assert.That(File.ReadAllLines(Path.ChangeExtension(result.CurvesPath, ".csv")), Has.Length.EqualTo(2), "the curves' header and the one epoch");
        Assert.That(File.ReadAllBytes(result.CurvesPath)[..8], Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }), "a PNG");
        Assert.That(Directory.EnumerateFiles(folder.Path, "*.tmp*", SearchOption.AllDirectories), Is.Empty, "no temporary file is left behind");
    }
}
