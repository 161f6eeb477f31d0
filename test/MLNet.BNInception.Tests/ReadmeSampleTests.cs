using System.Runtime.CompilerServices;
using Microsoft.ML.Runtime;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Tests;

/// <summary>
/// The README's code sample is this file's <see cref="Sample"/>, word for word: it compiles with
/// the tests, and runs here on a few Fashion-MNIST files.
/// </summary>
[Trains]
public class ReadmeSampleTests
{
    public sealed class ImageRow
    {
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";

        [LoadColumn(1)]
        public string Label { get; set; } = "";
    }

    private static MulticlassClassificationMetrics Sample(string trainCsv, string testCsv, string imageFolder, string modelPath)
    {
        // README sample start
        var mlContext = new MLContext(seed: 1);
        mlContext.Log += (_, e) =>   // training progress, a line every 50 steps and every epoch
        {
            if (e.Kind >= ChannelMessageKind.Info && e.Source.StartsWith("BnInception", StringComparison.Ordinal)) Console.WriteLine(e.Message);
        };
        IDataView train = mlContext.Data.LoadFromTextFile<ImageRow>(trainCsv, separatorChar: ',', hasHeader: true);
        IDataView test = mlContext.Data.LoadFromTextFile<ImageRow>(testCsv, separatorChar: ',', hasHeader: true);

        var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Label")
            .Append(mlContext.Transforms.LoadImages("Image", imageFolder, "ImagePath"))
            .Append(mlContext.Transforms.ResizeImages("Image", imageWidth: 64, imageHeight: 64))
            .Append(mlContext.Transforms.ExtractPixels("Features", "Image", scaleImage: 1f / 255))
            .AppendCacheCheckpoint(mlContext)
            .Append(mlContext.MulticlassClassification.Trainers.BnInception(imageSize: 64, epochs: 20, batchSize: 16,
                preset: BnInceptionPreset.BnX5, log: mlContext))
            .Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

        using var model = pipeline.Fit(train);   // disposing frees the network's native memory
        var metrics = mlContext.MulticlassClassification.Evaluate(model.Transform(test));
        Console.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());
        mlContext.Model.Save(model, train.Schema, modelPath);   // loads without this package: see docs
        // README sample end
        return metrics;
    }

    [Test]
    public void TheReadmeShowsThisSampleAndItRuns()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        string shown = readme[(readme.IndexOf("```csharp\n", StringComparison.Ordinal) + "```csharp\n".Length)..];
        shown = shown[..shown.IndexOf("```", StringComparison.Ordinal)];
        string source = File.ReadAllText(ThisFile());
        const string start = "// README sample start\n", end = "        // README sample end";
        string sample = source[(source.IndexOf(start, StringComparison.Ordinal) + start.Length)..source.IndexOf(end, StringComparison.Ordinal)];
        Assert.That(Lines(shown), Is.EqualTo(Lines(sample)), "README.md's first C# block is the sample below, word for word");

        // A small set, as a first try with the sample would be: its settings must learn from it.
        // Seen here: 56.5% of 200 test images right, log-loss 1.36 (chance: 10%, 2.30); with the
        // sample's earlier settings (2 epochs, BN-x30) 9% and 31.
        using var folder = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(folder.File("data"), 120, 0, 200);
        TextWriter console = Console.Out;
        var printed = new StringWriter();
        Console.SetOut(printed);
        MulticlassClassificationMetrics metrics;
        try
        {
            metrics = Sample(files.TrainCsv, files.TestCsv, files.ImageFolder, folder.File("model.zip"));
        }
        finally
        {
            Console.SetOut(console);
        }

        TestContext.Out.WriteLine(printed);
        Assert.That(metrics.ConfusionMatrix.Counts.Sum(row => row.Sum()), Is.EqualTo(200));
        Assert.That(metrics.MicroAccuracy, Is.GreaterThan(0.35), "well above chance (10%)");
        Assert.That(metrics.LogLoss, Is.LessThan(1.8), "well below a uniform guess's ln 10 = 2.30");
        Assert.That(printed.ToString(), Does.Contain("BN-Inception: 120 training rows, 10 classes").And.Contain("epoch 20: training loss"),
            "progress reaches the console through mlContext.Log");
        Assert.That(new FileInfo(folder.File("model.zip")).Length, Is.GreaterThan(1_000_000), "the model file holds the network");
    }

    private static string[] Lines(string code) =>
        code.Split('\n').Select(line => line.Trim()).Where(line => line.Length > 0 && !line.StartsWith("using ", StringComparison.Ordinal)).ToArray();

    private static string ThisFile([CallerFilePath] string path = "") => path;

    private static string RepositoryRoot() => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(ThisFile())!, "..", ".."));
}
