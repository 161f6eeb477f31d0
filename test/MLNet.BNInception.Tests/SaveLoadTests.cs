using System.Reflection;
using System.Text.Json;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.ModelFiles;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Model.Save of a whole pipeline holding the trainer's model, then Model.Load: in this process, and
/// in a new one that references nothing but ML.NET, its image and ONNX transforms and ONNX Runtime.
/// </summary>
[Trains]
public class SaveLoadTests
{
    private sealed class ImageRow
    {
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";

        [LoadColumn(1)]
        public string Label { get; set; } = "";
    }

    private sealed class Prediction
    {
        public float[] Score { get; set; } = [];

        public string PredictedLabel { get; set; } = "";
    }

    private sealed record AppResult(string[] Transformers, string[] Assemblies, string PredictedLabelType, float[][] Scores, string[] Labels,
        float[] EngineScore, AppMetrics Metrics, double RowsPerSecond);

    private sealed record AppMetrics(double MicroAccuracy, double MacroAccuracy, double LogLoss, double TopKAccuracy);

    private static string NoReferenceApp => typeof(SaveLoadTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(attribute => attribute.Key == "NoReferenceApp").Value!;

    [Test]
    public void ALoadedPipelineScoresAsTheTrainedOneHereAndInAnApplicationWithoutThisPackage()
    {
        using var folder = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(folder.File("data"), 160, 0, 48);
        var ml = new MLContext(seed: 1);
        IDataView train = ml.Data.LoadFromTextFile<ImageRow>(files.TrainCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);
        IDataView test = ml.Data.LoadFromTextFile<ImageRow>(files.TestCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", files.ImageFolder, "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", 64, 64))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", colorsToExtract: Microsoft.ML.Transforms.Image.ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255))
            .Append(ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
            {
                ImageSize = 64,
                Training = TrainerOptions.PaperBnX5 with { Epochs = 3, BatchSize = 8, Seed = 3, Augmentation = AugmentationOptions.None },
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        var model = pipeline.Fit(train);
        try
        {
            IDataView scored = model.Transform(test);
            float[][] scores = scored.GetColumn<float[]>("Score").ToArray();
            string[] labels = scored.GetColumn<string>("PredictedLabel").ToArray();
            MulticlassClassificationMetrics metrics = ml.MulticlassClassification.Evaluate(scored, topKPredictionCount: 3);
            string path = folder.File("model.zip");
            ml.Model.Save(model, train.Schema, path);

            // In this process: the loaded chain, through Transform and through a prediction engine.
            // ML.NET's OnnxTransformer copies the network into MLContext.TempFilePath when it loads
            // and deletes the copy when it is disposed: docs/walkthrough.md asks users to dispose.
            string loadTemporary = folder.File("load-temporary");
            Directory.CreateDirectory(loadTemporary);
            ml.TempFilePath = loadTemporary;
            var loaded = (TransformerChain<ITransformer>)BnInceptionModelFile.Load(ml, path, out DataViewSchema inputSchema);
            Assert.That(Directory.GetFiles(loadTemporary).Select(file => new FileInfo(file).Length), Has.One.GreaterThan(1_000_000),
                "the loaded model's copy of the network");
            Assert.That(inputSchema.Select(column => column.Name), Is.EqualTo(new[] { "ImagePath", "Label" }));
            IDataView reloaded = loaded.Transform(test);
            AssertSameScores(reloaded.GetColumn<float[]>("Score").ToArray(), scores, "Model.Load here");
            Assert.That(reloaded.GetColumn<string>("PredictedLabel").ToArray(), Is.EqualTo(labels));
            MulticlassClassificationMetrics again = ml.MulticlassClassification.Evaluate(reloaded, topKPredictionCount: 3);
            Assert.That(again.MicroAccuracy, Is.EqualTo(metrics.MicroAccuracy));
            Assert.That(again.LogLoss, Is.EqualTo(metrics.LogLoss).Within(1e-4));
            var engine = ml.Model.CreatePredictionEngine<ImageRow, Prediction>(loaded);
            ImageRow first = ml.Data.CreateEnumerable<ImageRow>(test, reuseRowObject: false).First();
            Prediction single = engine.Predict(first);
            Assert.That(single.PredictedLabel, Is.EqualTo(labels[0]));
            AssertSameScores([single.Score], [scores[0]], "the loaded model's prediction engine");
            engine.Dispose();
            loaded.Dispose();
            Assert.That(Directory.GetFileSystemEntries(loadTemporary), Is.Empty, "disposing the loaded model deletes its copy of the network");

            // In a new process that references neither this package nor libtorch.
            string output = folder.File("scored.json");
            ExternalProcess.Run("dotnet", [NoReferenceApp, path, files.TestCsv, output], timeout: TimeSpan.FromMinutes(3)).AssertSucceeded();
            AppResult app = JsonSerializer.Deserialize<AppResult>(File.ReadAllText(output), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
            TestContext.Out.WriteLine($"the loaded chain: {string.Join(" | ", app.Transformers)}; {app.RowsPerSecond:F0} rows/s with image loading, one row at a time");
            Assert.That(app.Assemblies, Has.None.StartsWith("MLNet.BNInception.Engine").And.None.StartsWith("MLNet.BNInception.Trainers").And.None.Contains("TorchSharp"));
            Assert.That(app.Assemblies, Has.None.EqualTo("MLNet.BNInception"), "our package is not there to be loaded");
            string appFolder = Path.GetDirectoryName(NoReferenceApp)!;
            Assert.That(Directory.EnumerateFiles(appFolder, "*", SearchOption.AllDirectories).Select(Path.GetFileName),
                Has.None.StartsWith("MLNet.BNInception.Engine").And.None.StartsWith("TorchSharp").And.None.StartsWith("libtorch"));
            Assert.That(app.Transformers, Does.Contain("  OnnxTransformer"));
            Assert.That(app.PredictedLabelType, Is.EqualTo("String"), "MapKeyToValue gave class names back from the key values");
            AssertSameScores(app.Scores, scores, "the application without this package");
            Assert.That(app.Labels, Is.EqualTo(labels));
            Assert.That(app.Metrics.MicroAccuracy, Is.EqualTo(metrics.MicroAccuracy));
            Assert.That(app.Metrics.MacroAccuracy, Is.EqualTo(metrics.MacroAccuracy));
            Assert.That(app.Metrics.LogLoss, Is.EqualTo(metrics.LogLoss).Within(1e-4));
            Assert.That(app.Metrics.TopKAccuracy, Is.EqualTo(metrics.TopKAccuracy));
            AssertSameScores([app.EngineScore], [scores[0]], "that application's prediction engine");
        }
        finally
        {
            model.OfType<BnInceptionPredictionTransformer>().Single().Dispose();
        }
    }

    private static void AssertSameScores(float[][] actual, float[][] expected, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < expected.Length; i++)
        {
            double scale = expected[i].Max(Math.Abs);
            double worst = actual[i].Zip(expected[i], (a, b) => Math.Abs(a - b)).Max();
            Assert.That(worst, Is.LessThan(1e-4 * scale), $"{what}, row {i}: max |difference| {worst:G3} at scale {scale:G3}");
        }
    }
}
