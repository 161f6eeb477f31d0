using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace MLNet.BNInception.Docs.Tests;

/// <summary>
/// The one-file scripts of docs/samples/, each run where it stands as its header says
/// (<c>dotnet run FILE.cs -- …</c> in docs/samples, with the package PackedFeed packed) on a few
/// Fashion-MNIST images: train-and-evaluate.cs trains and saves a model, score-csv.cs scores a list
/// with it, load-without-package.cs loads it with ML.NET alone. Their results are checked against
/// each other and against metrics recomputed here from the saved model's scores. Training runs
/// TorchSharp, so on a machine whose libstdc++ lacks GLIBCXX_3.4.32 (Debian 12) the training script
/// also proves that our package's build step fixing TorchSharp's native library reaches file-based apps.
/// </summary>
[Trains]
public sealed class SamplesTests
{
    private const int TrainImages = 48;
    private const int TestImages = 16;
    // A row of the list score-csv.cs reads whose image does not exist.
    private const int MissingRow = 5;
    private const string MissingPath = "t10k/missing.png";
    // A copy of the first test image under a name that needs quoting in a CSV.
    private const string CommaPath = "t10k/0, copy.png";

    private readonly TemporaryDirectory _work = new();
    private string[] _samplesFolderBefore = [];
    private string _trainOutput = "";
    private string _scoreOutput = "";
    private string _loaderOutput = "";
    private (string Path, string Label)[] _testRows = [];

    private static string SamplesFolder => Path.Combine(PackedFeed.Repository, "docs", "samples");

    [OneTimeSetUp]
    public void RunTheSamples()
    {
        // The images are written by Python's standard library, so that this process loads nothing of
        // ML.NET or ours: the samples must bring everything themselves.
        string writer = Path.Combine(PackedFeed.Repository, "test", "MLNet.BNInception.Docs.Tests", "python", "fashion_mnist_files.py");
        ExternalProcess.Run("/usr/bin/python3", [writer, _work.Path, TrainImages.ToString(CultureInfo.InvariantCulture), TestImages.ToString(CultureInfo.InvariantCulture)])
            .AssertSucceeded();
        string images = _work.File("images");
        _testRows = File.ReadLines(_work.File("test.csv")).Skip(1).Select(line => line.Split(',')).Select(fields => (fields[0], fields[1])).ToArray();
        Assert.That(_testRows, Has.Length.EqualTo(TestImages));

        _samplesFolderBefore = FilesUnder(SamplesFolder);
        // One epoch of six steps at a low rate leaves the probabilities between 0 and 1 rather than at
        // them, so that the comparisons below compare numbers that could differ.
        _trainOutput = RunSample("train-and-evaluate.cs", _work.File("train.csv"), _work.File("test.csv"), images, _work.File("model"),
            "--size", "64", "--epochs", "1", "--batch", "8", "--learning-rate", "0.01");
        TestContext.Out.WriteLine(_trainOutput);

        File.Copy(Path.Combine(images, _testRows[0].Path), Path.Combine(images, CommaPath));
        List<string> list = ["ImagePath", .. _testRows.Select(row => row.Path)];
        list.Insert(1 + MissingRow, MissingPath);
        list.Add($"\"{CommaPath}\"");
        File.WriteAllLines(_work.File("list.csv"), list);
        _scoreOutput = RunSample("score-csv.cs", _work.File("model/model.zip"), _work.File("list.csv"), _work.File("predictions.csv"));
        TestContext.Out.WriteLine(_scoreOutput);

        _loaderOutput = RunSample("load-without-package.cs", _work.File("model/model.zip"), _work.File("test.csv"));
        TestContext.Out.WriteLine(_loaderOutput);
    }

    [OneTimeTearDown]
    public void RemoveTheFiles() => _work.Dispose();

    [Test]
    public void TrainAndEvaluatePrintsTheMetricsOfTheModelItSaved()
    {
        Assert.That(_trainOutput, Does.Contain($"saved {_work.File("model/model.zip")}"));
        Assert.That(File.Exists(_work.File("model/model.zip.partial")), Is.False, "the model was saved under another name and renamed");
        LoadedScores loaded = ParseLoaderOutput();
        Metrics expected = Recompute(loaded);
        Metrics printed = ParseMetrics(_trainOutput);
        Assert.Multiple(() =>
        {
            // The trained model scores with TorchSharp, the saved one with ONNX Runtime: the same network, so the
            // same predictions and log-loss to float rounding.
            Assert.That(printed.MicroAccuracy, Is.InRange(0, 1).And.EqualTo(expected.MicroAccuracy).Within(1e-4));
            Assert.That(printed.MacroAccuracy, Is.InRange(0, 1).And.EqualTo(expected.MacroAccuracy).Within(1e-4));
            Assert.That(printed.LogLoss, Is.GreaterThan(0).And.EqualTo(expected.LogLoss).Within(1e-3));
        });
    }

    [Test]
    public void LoadWithoutPackageScoresEveryRowAndLoadsNoneOfOursNorTorchSharp()
    {
        LoadedScores loaded = ParseLoaderOutput();
        Assert.That(loaded.Classes, Is.EquivalentTo(new[] { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" }),
            "every class of the training images, as the Score column's slot names");
        Assert.That(loaded.Rows.Select(row => row.Path), Is.EqualTo(_testRows.Select(row => row.Path)), "one row per row of the list, in its order");
        foreach ((string path, string predicted, float[] scores) in loaded.Rows)
        {
            Assert.That(scores.Sum(), Is.EqualTo(1).Within(1e-4), $"{path}: probabilities");
            Assert.That(predicted, Is.EqualTo(loaded.Classes[Array.IndexOf(scores, scores.Max())]), $"{path}: the predicted label is the most probable class");
        }

        // ML.NET's metrics of the loaded model are those of the scores it printed.
        Metrics printed = ParseMetrics(_loaderOutput);
        Metrics expected = Recompute(loaded);
        Assert.That(printed.MicroAccuracy, Is.EqualTo(expected.MicroAccuracy).Within(6e-5));
        Assert.That(printed.MacroAccuracy, Is.EqualTo(expected.MacroAccuracy).Within(6e-5));
        Assert.That(printed.LogLoss, Is.EqualTo(expected.LogLoss).Within(6e-5));

        string[] assemblies = Regex.Match(_loaderOutput, "^loaded assemblies: (.*)$", RegexOptions.Multiline).Groups[1].Value.Trim().Split(", ");
        Assert.That(assemblies, Does.Contain("Microsoft.ML.OnnxTransformer").And.Contain("Microsoft.ML.OnnxRuntime"), "the network ran in ONNX Runtime");
        Assert.That(assemblies, Has.None.StartsWith("MLNet.BNInception").And.None.Contains("TorchSharp"));
    }

    [Test]
    public void ScoreCsvWritesARowPerListRowInOrderAsTheLoadedModelScoresIt()
    {
        LoadedScores loaded = ParseLoaderOutput();
        string[][] predictions = ReadCsv(_work.File("predictions.csv"));
        Assert.That(predictions[0], Is.EqualTo(new[] { "ImagePath", "PredictedLabel", "Probability", "Error" }));
        string[][] rows = predictions[1..];
        string[] expectedPaths = [.. _testRows[..MissingRow].Select(row => row.Path), MissingPath, .. _testRows[MissingRow..].Select(row => row.Path), CommaPath];
        Assert.That(rows.Select(row => row[0]), Is.EqualTo(expectedPaths), "one row per row of the list, in its order");
        Assert.That(_scoreOutput, Does.Contain($"scored {expectedPaths.Length} rows (1 without an image)"));

        Assert.That(rows[MissingRow][1..3], Is.All.Empty, "no prediction for the missing image");
        Assert.That(rows[MissingRow][3], Does.StartWith("FileNotFound: ").And.Contain(MissingPath));
        var scoredByTheLoader = loaded.Rows.ToDictionary(row => row.Path);
        foreach (string[] row in rows.Where(row => row[0] != MissingPath))
        {
            (string _, string predicted, float[] scores) = scoredByTheLoader[row[0] == CommaPath ? _testRows[0].Path : row[0]];
            Assert.That(row[3], Is.Empty, $"{row[0]}: no error");
            Assert.That(row[1], Is.EqualTo(predicted), $"{row[0]}: the label the loaded model predicts");
            Assert.That(float.Parse(row[2], CultureInfo.InvariantCulture), Is.EqualTo(scores.Max()).Within(1e-4), $"{row[0]}: its probability");
        }
    }

    [Test]
    public void TheSamplesLeaveNoFilesInTheRepository() =>
        Assert.That(FilesUnder(SamplesFolder), Is.EqualTo(_samplesFolderBefore), "dotnet run builds file-based apps outside the source folder");

    private sealed record Metrics(double MicroAccuracy, double MacroAccuracy, double LogLoss);

    private sealed record LoadedScores(string[] Classes, (string Path, string Predicted, float[] Scores)[] Rows);

    // Runs a sample in docs/samples as its header says to after a new pack, which PackedFeed makes on every
    // test run: without these two options an unchanged script would run the build of an earlier run, and
    // NuGet would keep the version it resolved *-* to then.
    private static string RunSample(string script, params string[] arguments) =>
        UserProject.Dotnet(SamplesFolder, ["run", "--no-cache", "--property:RestoreForceEvaluate=true", script, "--", .. arguments]);

    private static string[] FilesUnder(string folder) =>
        Directory.EnumerateFileSystemEntries(folder, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray();

    private static Metrics ParseMetrics(string output)
    {
        double Number(string name)
        {
            Match match = Regex.Match(output, $"^{name}: (\\S+)$", RegexOptions.Multiline);
            Assert.That(match.Success, Is.True, $"the output has a line '{name}: …'");
            return double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        }

        return new Metrics(Number("micro-accuracy"), Number("macro-accuracy"), Number("log-loss"));
    }

    // load-without-package.cs prints a tab-separated table: ImagePath, PredictedLabel, then one column per class.
    private LoadedScores ParseLoaderOutput()
    {
        string[] lines = _loaderOutput.Split('\n').Select(line => line.TrimEnd('\r')).ToArray();
        int header = Array.FindIndex(lines, line => line.StartsWith("ImagePath\tPredictedLabel\t", StringComparison.Ordinal));
        Assert.That(header, Is.GreaterThanOrEqualTo(0), "load-without-package.cs printed its table");
        string[] classes = lines[header].Split('\t')[2..];
        var rows = lines.Skip(header + 1).TakeWhile(line => line.Contains('\t', StringComparison.Ordinal))
            .Select(line => line.Split('\t'))
            .Select(fields => (fields[0], fields[1], fields[2..].Select(field => float.Parse(field, CultureInfo.InvariantCulture)).ToArray()))
            .ToArray();
        Assert.That(rows, Has.All.Matches<(string, string, float[] Scores)>(row => row.Scores.Length == classes.Length));
        return new LoadedScores(classes, rows);
    }

    // Micro and macro accuracy and log-loss as ML.NET defines them (macro: the mean over the classes the
    // labels hold of the fraction of each class's rows predicted right; log-loss: the mean of −ln p of the
    // true class, p at least 1e-15), from the scores the loaded model printed and the labels of test.csv.
    private Metrics Recompute(LoadedScores loaded)
    {
        Assert.That(loaded.Rows.Select(row => row.Path), Is.EqualTo(_testRows.Select(row => row.Path)));
        var outcomes = _testRows.Zip(loaded.Rows, (truth, scored) =>
        {
            int label = Array.IndexOf(loaded.Classes, truth.Label);
            Assert.That(label, Is.GreaterThanOrEqualTo(0), $"{truth.Path}: its label '{truth.Label}' is a class of the model");
            bool right = Array.IndexOf(scored.Scores, scored.Scores.Max()) == label;
            return (Label: label, Right: right, Loss: -Math.Log(Math.Max(scored.Scores[label], 1e-15)));
        }).ToArray();
        double macro = outcomes.GroupBy(outcome => outcome.Label).Average(byClass => byClass.Count(outcome => outcome.Right) / (double)byClass.Count());
        return new Metrics(outcomes.Count(outcome => outcome.Right) / (double)outcomes.Length, macro, outcomes.Average(outcome => outcome.Loss));
    }

    // A CSV file as RFC 4180 writes it: fields in double quotes may hold separators and doubled quotes.
    private static string[][] ReadCsv(string path)
    {
        var records = new List<string[]>();
        foreach (string line in File.ReadAllLines(path))
        {
            var fields = new List<string>();
            var field = new StringBuilder();
            bool quoted = false;
            for (int i = 0; i < line.Length; i++)
            {
                char c = line[i];
                if (quoted && c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = !quoted;
                }
                else if (c == ',' && !quoted)
                {
                    fields.Add(field.ToString());
                    field.Clear();
                }
                else
                {
                    field.Append(c);
                }
            }

            fields.Add(field.ToString());
            records.Add([.. fields]);
        }

        return [.. records];
    }
}
