using System.IO.Compression;
using System.Reflection;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Our NuGet packages as a user's project gets them: packed, then referenced from a local folder by
/// a fresh project outside this repository, which fits, evaluates, saves, loads and predicts. It
/// runs TorchSharp, so on a machine whose libstdc++ lacks GLIBCXX_3.4.32 (Debian 12) it also proves
/// that the build step fixing TorchSharp's native library ships in the package. It draws training
/// curves too, so the chart drawer (ScottPlot on SkiaSharp 3) ships and loads beside ML.NET's image
/// transforms on SkiaSharp 2.88.
/// </summary>
public class PackageTests
{
    private const string Program = """
        using Microsoft.ML;
        using Microsoft.ML.Data;
        using MLNet.BNInception;
        using MLNet.BNInception.Datasets;
        using MLNet.BNInception.Trainers;

        var ml = new MLContext(seed: 1);
        FashionMnistFiles.Files files = FashionMnistFiles.Write("data", 48, 0, 16);
        IDataView train = ml.Data.LoadFromTextFile<Row>(files.TrainCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);
        IDataView test = ml.Data.LoadFromTextFile<Row>(files.TestCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", files.ImageFolder, "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", 64, 64))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", scaleImage: 1f / 255))
            .Append(ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
            {
                ImageSize = 64, Epochs = 1, BatchSize = 8, CurvesPath = "curves.png",
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        ITransformer model = pipeline.Fit(train);
        MulticlassClassificationMetrics metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
        ml.Model.Save(model, train.Schema, "model.zip");
        using var loaded = (TransformerChain<ITransformer>)ml.Model.Load("model.zip", out _);
        var engine = ml.Model.CreatePredictionEngine<Row, Output>(loaded);
        Output prediction = engine.Predict(new Row { ImagePath = "t10k/0.png" });
        Console.WriteLine($"evaluated {metrics.ConfusionMatrix.Counts.Sum(row => row.Sum())} rows; predicted {prediction.PredictedLabel} from {prediction.Score.Length} scores");
        using (var chart = SkiaSharp.SKBitmap.Decode("curves.png"))
        {
            Console.WriteLine($"curves {chart.Width}x{chart.Height} and {File.ReadAllLines("curves.csv").Length} lines of numbers");
        }

        public sealed class Row
        {
            [LoadColumn(0)] public string ImagePath { get; set; } = "";
            [LoadColumn(1)] public string Label { get; set; } = "";
        }

        public sealed class Output
        {
            public string PredictedLabel { get; set; } = "";
            public float[] Score { get; set; } = [];
        }
        """;

    private static string Setting(string key) => typeof(PackageTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(attribute => attribute.Key == key).Value!;

    [Test]
    public void AFreshProjectReferencingThePackagesFitsEvaluatesSavesLoadsAndPredicts()
    {
        // A version no release has, so the packages restore puts in the NuGet cache shadow nothing; removed below.
        string version = "0.0.0-test-" + Guid.NewGuid().ToString("N");
        using var root = new TemporaryDirectory();
        string feed = Path.Combine(root.Path, "feed"), app = Path.Combine(root.Path, "app");
        string[] packages = ["MLNet.BNInception.Engine", "MLNet.BNInception"];
        try
        {
            foreach (string package in packages)
            {
                UserProject.Dotnet(root.Path, "pack", Path.Combine(Setting("SourceFolder"), package, package + ".csproj"), "--configuration", Setting("Configuration"),
                    "--no-build", "--output", feed, $"-p:PackageVersion={version}", $"-p:NuspecOutputPath={Path.Combine(root.Path, "nuspec", package)}/");
            }

            using (ZipArchive engine = ZipFile.OpenRead(Path.Combine(feed, $"MLNet.BNInception.Engine.{version}.nupkg")))
            {
                Assert.That(engine.Entries.Select(entry => entry.FullName), Does.Contain("buildTransitive/MLNet.BNInception.Engine.targets"));
            }

            using (ZipArchive mlnet = ZipFile.OpenRead(Path.Combine(feed, $"MLNet.BNInception.{version}.nupkg")))
            {
                Assert.That(mlnet.Entries.Select(entry => entry.FullName), Is.SupersetOf(new[]
                {
                    "buildTransitive/MLNet.BNInception.targets", "plots/MLNet.BNInception.Plots.dll", "plots/ScottPlot.dll", "plots/SkiaSharp.dll",
                    "plots/runtimes/linux-x64/native/libSkiaSharp.so",
                }));
            }

            UserProject.Write(root.Path, feed, app, [("MLNet.BNInception", version), ("libtorch-cpu-linux-x64", "2.10.0")], Program);
            UserProject.Dotnet(app, "build", "--configuration", "Release");
            string output = ExternalProcess.Run("dotnet", [Path.Combine(app, "bin", "Release", "net10.0", "App.dll")], app, timeout: TimeSpan.FromMinutes(3))
                .AssertSucceeded().Output;
            TestContext.Out.WriteLine(output);
            Assert.That(output, Does.Match(@"evaluated 16 rows; predicted (T-shirt/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot) from 10 scores"));
            Assert.That(output, Does.Contain("curves 1200x450 and 2 lines of numbers"));
            Assert.That(File.Exists(Path.Combine(app, "bin", "Release", "net10.0", "bninception-plots", "runtimes", "linux-x64", "native", "libSkiaSharp.so")), Is.True);

            // Hosts that load the package's assembly from the NuGet cache without building (notebooks)
            // find the drawer two folders up from it, where the restored package has it.
            string restoredAssembly = Path.Combine(Setting("NuGetPackageRoot"), "mlnet.bninception", version, "lib", "net10.0", "MLNet.BNInception.dll");
            Assert.That(File.Exists(restoredAssembly), Is.True, restoredAssembly);
            Assert.That(File.Exists(Path.Combine(Path.GetDirectoryName(restoredAssembly)!, "..", "..", "plots", "MLNet.BNInception.Plots.dll")), Is.True);
        }
        finally
        {
            foreach (string package in packages)
            {
                string restored = Path.Combine(Setting("NuGetPackageRoot"), package.ToLowerInvariant(), version);
                if (Directory.Exists(restored))
                {
                    Directory.Delete(restored, recursive: true);
                }
            }
        }
    }
}
