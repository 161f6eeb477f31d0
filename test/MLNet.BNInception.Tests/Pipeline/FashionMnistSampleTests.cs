using System.IO.Compression;
using System.Text.Json.Nodes;
using MLNet.BNInception.Demo;

namespace MLNet.BNInception.Tests;

/// <summary>The walk-through's code (the README's main job) end to end on a subset of real images.</summary>
[NonParallelizable]
public sealed class FashionMnistSampleTests
{
    [Test]
    public void TheWalkThroughTrainsEvaluatesSavesReloadsScoresAndExports()
    {
        using var folder = new TemporaryDirectory();
        var settings = new SampleSettings { OutputFolder = folder.Path, TrainImages = 1_600, ValidationImages = 100, TestImages = 300, Epochs = 1 };
        using var log = new StringWriter();
        SampleResult result = FashionMnistSample.Run(settings, new MLContext(seed: 1), log);

        // 1,500 images, one epoch: far above the 10% of guessing, far below the full run.
        Assert.That(result.Metrics.MicroAccuracy, Is.GreaterThan(0.35), log.ToString());
        Assert.That(result.Metrics.TopKAccuracy, Is.GreaterThan(result.Metrics.MicroAccuracy));
        Assert.That(result.Metrics.ConfusionMatrix.Counts.Sum(row => row.Sum()), Is.EqualTo(300));
        Assert.That(result.ReloadedMetrics.MicroAccuracy, Is.EqualTo(result.Metrics.MicroAccuracy));
        Assert.That(result.ReloadedMetrics.LogLoss, Is.EqualTo(result.Metrics.LogLoss).Within(1e-9));
        Assert.That(result.ScoredRows, Is.EqualTo(300));
        Assert.That(result.OnnxAgreement, Is.EqualTo(result.OnnxChecked));
        Assert.That(result.OnnxChecked, Is.EqualTo(300));

        string[] predictions = File.ReadAllLines(Path.Combine(folder.Path, "predictions.csv"));
        Assert.That(predictions, Has.Length.EqualTo(301));
        Assert.That(predictions[1], Does.StartWith("images/test/00000.png,"));
        Assert.That(Directory.GetFiles(folder.Path, "*.tmp"), Is.Empty);

        using ZipArchive model = ZipFile.OpenRead(Path.Combine(folder.Path, "model.zip"));
        using Stream manifestStream = model.GetEntry("manifest.json")!.Open();
        JsonNode manifest = JsonNode.Parse(manifestStream)!;
        Assert.That((int?)manifest["formatVersion"], Is.EqualTo(1));
        Assert.That(manifest["classLabels"]!.AsArray().Select(label => (string?)label).ToList(), Has.Member("Ankle boot").And.Count.EqualTo(10));
        Assert.That((int?)manifest["inputSize"], Is.EqualTo(64));
        // ExtractPixels(scaleImage: 1/255): raw pixels are divided by 255, nothing subtracted.
        Assert.That(manifest["normalization"]!["rawPixelStd"]!.AsArray().Select(v => (float)v!).ToList(), Is.EqualTo(new[] { 255f, 255f, 255f }).Within(1e-3));
        Assert.That(manifest["normalization"]!["channels"]!.AsArray().Select(v => (string?)v).ToList(), Is.EqualTo(new[] { "Red", "Green", "Blue" }));
        Assert.That(manifest["steps"]!.AsArray().Select(step => (string?)step!["kind"]),
            Is.EqualTo(new[] { "MapValueToKey", "LoadImages", "ResizeImages", "ExtractPixels", "BnInception", "MapKeyToValue" }));
    }
}
