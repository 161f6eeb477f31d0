using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using MLNet.BNInception.DemoData;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Our NuGet packages as a new user gets them: README.md's "Use it in your application" commands,
/// run as they stand there (only the clone's folder is this repository), make an application that
/// fits, evaluates, draws training curves, saves, loads and predicts; then the README's four
/// packages make an application without ours that loads the saved model and scores the same. It
/// runs TorchSharp, so on a machine whose libstdc++ lacks GLIBCXX_3.4.32 (Debian 12) it also proves
/// that the build step fixing TorchSharp's native library ships in the package.
/// </summary>
[Trains]
public class PackageTests
{
    private const string Program = """
        using System.Text.Json;
        using Microsoft.ML;
        using Microsoft.ML.Data;
        using MLNet.BNInception;
        using MLNet.BNInception.ModelFiles;
        using MLNet.BNInception.Trainers;

        // The images' folder and the training and test lists, as the test wrote them.
        (string imageFolder, string trainCsv, string testCsv) = (args[0], args[1], args[2]);
        var ml = new MLContext(seed: 1);
        IDataView train = ml.Data.LoadFromTextFile<Row>(trainCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);
        IDataView test = ml.Data.LoadFromTextFile<Row>(testCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", imageFolder, "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", 64, 64))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", scaleImage: 1f / 255))
            .Append(ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
            {
                ImageSize = 64, Epochs = 1, BatchSize = 8, CurvesPath = "curves.png",
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        ITransformer model = pipeline.Fit(train);
        IDataView scored = model.Transform(test);
        MulticlassClassificationMetrics metrics = ml.MulticlassClassification.Evaluate(scored);
        File.WriteAllText("scores.json", JsonSerializer.Serialize(scored.GetColumn<float[]>("Score").ToArray()));
        ml.Model.Save(model, train.Schema, "model.zip");
        using var loaded = (TransformerChain<ITransformer>)BnInceptionModelFile.Load(ml, "model.zip", out _);
        var engine = ml.Model.CreatePredictionEngine<Row, Output>(loaded);
        Output prediction = engine.Predict(new Row { ImagePath = "t10k/0.png" });
        Console.WriteLine($"evaluated {metrics.ConfusionMatrix.Counts.Sum(row => row.Sum())} rows; predicted {prediction.PredictedLabel} from {prediction.Score.Length} scores");
        using (var chart = SkiaSharp.SKBitmap.Decode("curves.png"))
        {
            Console.WriteLine($"curves {chart.Width}x{chart.Height} and {File.ReadAllLines("curves.csv").Length} lines of numbers");
        }

        Console.WriteLine($"test list: {Path.GetFullPath(testCsv)}");

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

    private sealed record LoaderResult(string[] Assemblies, float[][] Scores);

    private static string Setting(string key) => typeof(PackageTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(attribute => attribute.Key == key).Value!;

    [Test]
    public void TheReadmesCommandsGiveAnApplicationThatTrainsAndSavesAndTheReadmesFourPackagesLoadWhatItSaved()
    {
        string repository = Path.GetFullPath(Path.Combine(Setting("SourceFolder"), ".."));
        string[] blocks = ReadmeBashBlocks(File.ReadAllText(Path.Combine(repository, "README.md")), "## Use it in your application");
        const string CloneLine = "BNINCEPTION=~/MLNet.BNInception\n";
        Assert.That(blocks[0], Does.StartWith(CloneLine), "the first block names the clone's folder first");
        Assert.That(blocks[1], Does.Contain("dotnet add package Microsoft.ML.OnnxRuntime "));

        using var root = new TemporaryDirectory();
        UserProject.FenceOff(root.Path);

        string version = "";
        try
        {
            UserProject.Bash(root.Path, $"BNINCEPTION='{repository}'\n" + blocks[0][CloneLine.Length..], TimeSpan.FromMinutes(10));
            string app = root.File("ImageApp");
            version = Regex.Match(File.ReadAllText(Path.Combine(app, "ImageApp.csproj")), @"Include=""MLNet.BNInception"" Version=""([^""]+)""").Groups[1].Value;
            Assert.That(version, Does.Match(@"^0\.1\.0-dev\.[1-9][0-9]{7}\.(0|[1-9][0-9]{0,5})$"), "the version pack.sh made: SemVer, so no number starts with 0");
            Assert.That(File.Exists(Path.Combine(repository, "artifacts", "packages", $"MLNet.BNInception.Cli.{version}.nupkg")), Is.True, "the tool was packed too");

            File.WriteAllText(Path.Combine(app, "Program.cs"), Program);
            UserProject.Dotnet(app, "build", "--configuration", "Release");
            // The demo data is not in our packages: the test writes it, as a user has their own images.
            FashionMnistFiles.Files files = FashionMnistFiles.Write(Path.Combine(app, "data"), 48, 0, 16);
            string output = ExternalProcess.Run("dotnet", [Path.Combine(app, "bin", "Release", "net10.0", "ImageApp.dll"), files.ImageFolder, files.TrainCsv, files.TestCsv],
                    app, timeout: TimeSpan.FromMinutes(3))
                .AssertSucceeded().Output;
            TestContext.Out.WriteLine(output);
            Assert.That(output, Does.Match(@"evaluated 16 rows; predicted (T-shirt/top|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot) from 10 scores"));
            Assert.That(output, Does.Contain("curves 1200x450 and 2 lines of numbers"));

            // The README's four packages, in an application that knows nothing of ours.
            string loader = root.File("LoaderApp");
            UserProject.Dotnet(root.Path, "new", "console", "--output", loader);
            File.Copy(Path.Combine(app, "NuGet.config"), Path.Combine(loader, "NuGet.config"));
            UserProject.Bash(loader, blocks[1], TimeSpan.FromMinutes(5));
            File.Copy(Path.Combine(repository, "test", "MLNet.BNInception.NoReferenceApp", "Program.cs"), Path.Combine(loader, "Program.cs"), overwrite: true);
            UserProject.Dotnet(loader, "build", "--configuration", "Release");
            string testList = Regex.Match(output, "test list: (.*)").Groups[1].Value.Trim();
            string scored = root.File("loaded.json");
            ExternalProcess.Run("dotnet", [Path.Combine(loader, "bin", "Release", "net10.0", "LoaderApp.dll"), Path.Combine(app, "model.zip"), testList, scored],
                loader, timeout: TimeSpan.FromMinutes(3)).AssertSucceeded();
            LoaderResult loaded = JsonSerializer.Deserialize<LoaderResult>(File.ReadAllText(scored), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
            Assert.That(loaded.Assemblies, Has.None.StartsWith("MLNet.BNInception").And.None.Contains("TorchSharp"));
            float[][] trained = JsonSerializer.Deserialize<float[][]>(File.ReadAllText(Path.Combine(app, "scores.json")))!;
            Assert.That(loaded.Scores, Has.Length.EqualTo(trained.Length));
            for (int i = 0; i < trained.Length; i++)
            {
                Assert.That(loaded.Scores[i], Is.EqualTo(trained[i]).Within(1e-4), $"row {i}: the loaded model scores as the trained one");
            }
        }
        finally
        {
            // The versions this test packed: out of the NuGet cache and the repository's package folder.
            foreach (string package in new[] { "MLNet.BNInception.Engine", "MLNet.BNInception.Plots", "MLNet.BNInception", "MLNet.BNInception.Cli" })
            {
                string cached = Path.Combine(Setting("NuGetPackageRoot"), package.ToLowerInvariant());
                if (version.Length > 0 && Directory.Exists(Path.Combine(cached, version)))
                {
                    Directory.Delete(Path.Combine(cached, version), recursive: true);
                }

                if (Directory.Exists(cached) && !Directory.EnumerateFileSystemEntries(cached).Any())
                {
                    Directory.Delete(cached);
                }

                File.Delete(Path.Combine(repository, "artifacts", "packages", $"{package}.{version}.nupkg"));
            }
        }
    }

    /// <summary>The ```bash blocks of <paramref name="readme"/>'s section that starts with <paramref name="heading"/>.</summary>
    private static string[] ReadmeBashBlocks(string readme, string heading)
    {
        int start = readme.IndexOf(heading + "\n", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), $"README.md has a section '{heading}'");
        int end = readme.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
        string section = readme[start..(end < 0 ? readme.Length : end)];
        string[] blocks = Regex.Matches(section, "```bash\n(.*?)```", RegexOptions.Singleline).Select(match => match.Groups[1].Value).ToArray();
        Assert.That(blocks, Has.Length.EqualTo(2), "the section's two command blocks: the application with our packages, and the one without");
        return blocks;
    }
}
