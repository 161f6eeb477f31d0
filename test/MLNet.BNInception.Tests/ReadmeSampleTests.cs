using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.ML.Runtime;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Tests;

/// <summary>
/// The README's code sample is this file's <see cref="Sample"/>, word for word: it compiles with
/// the tests, and runs here on a few Fashion-MNIST files.
/// </summary>
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
    [Trains]
    public void TheReadmeShowsThisSampleAndItRuns()
    {
        string shown = ReadmeBlock();
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

    [Test]
    public void TheReadmeSampleImportsTheNamespaceOfEveryTypeAndExtensionItUses()
    {
        // This project's global usings (Microsoft.ML, Microsoft.ML.Data) hide a using the README lacks, and the
        // comparison above leaves usings out; a console app has only .NET's implicit ones.
        string shown = ReadmeBlock();
        var imported = new HashSet<string>(["System", "System.IO", "System.Linq", "System.Collections.Generic", "System.Net.Http", "System.Threading", "System.Threading.Tasks"]);
        imported.UnionWith(Regex.Matches(shown, @"^using ([\w.]+);", RegexOptions.Multiline).Select(match => match.Groups[1].Value));
        Type[] types = new[] { typeof(MLContext), typeof(ImageEstimatorsCatalog), typeof(BnInceptionTrainerCatalog), typeof(BnInceptionPreset) }
            .Select(type => type.Assembly).Distinct().SelectMany(assembly => assembly.GetExportedTypes()).ToArray();
        // Code only: the names in strings ("Label") and comments are not the code's.
        string code = Regex.Replace(shown, @"""[^""]*""|//[^\n]*", "");
        Assert.Multiple(() =>
        {
            // A name after a dot is a member (metrics.ConfusionMatrix), which needs no using.
            foreach (string name in Regex.Matches(code, @"(?<![.\w])[A-Z]\w*\b").Select(match => match.Value).Distinct())
            {
                Type[] named = types.Where(type => type.Name.Split('`')[0] == name).ToArray();
                Assert.That(named.Length == 0 || named.Any(type => imported.Contains(type.Namespace!)), Is.True,
                    $"README.md's sample uses {name}, of {string.Join(" or ", named.Select(type => type.Namespace).Distinct())}, and does not import it");
            }

            foreach (string name in Regex.Matches(code, @"\.([A-Z]\w*)\s*\(").Select(match => match.Groups[1].Value).Distinct())
            {
                MethodInfo[] methods = types.SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static)).Where(method => method.Name == name).ToArray();
                MethodInfo[] extensions = methods.Where(method => method.IsDefined(typeof(ExtensionAttribute), false)).ToArray();
                bool instance = methods.Any(method => !method.IsStatic);
                Assert.That(instance || extensions.Length == 0 || extensions.Any(method => imported.Contains(method.DeclaringType!.Namespace!)), Is.True,
                    $"README.md's sample calls {name}, an extension method of {string.Join(" or ", extensions.Select(method => method.DeclaringType!.Namespace).Distinct())}, and does not import it");
            }
        });
    }

    private static string ReadmeBlock()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        string shown = readme[(readme.IndexOf("```csharp\n", StringComparison.Ordinal) + "```csharp\n".Length)..];
        return shown[..shown.IndexOf("```", StringComparison.Ordinal)];
    }

    private static string[] Lines(string code) =>
        code.Split('\n').Select(line => line.Trim()).Where(line => line.Length > 0 && !line.StartsWith("using ", StringComparison.Ordinal)).ToArray();

    private static string ThisFile([CallerFilePath] string path = "") => path;

    private static string RepositoryRoot() => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(ThisFile())!, "..", ".."));
}
