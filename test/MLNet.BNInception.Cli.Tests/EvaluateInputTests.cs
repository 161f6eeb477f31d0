using System.Globalization;
using System.Text.Json;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// <c>bninception evaluate</c> over lists that give no honest figure (no rows, one class, a quote
/// never closed), a bad image, a model whose columns and folder differ from the defaults, and Ctrl-C.
/// </summary>
[Trains]
public class EvaluateInputTests
{
    private static string Model => TrainedTool.Get().ModelPath;

    // The first test rows, with absolute paths, as "path,label" lines after a header.
    private static List<string> TestLines(int rows, Func<string, bool>? keep = null)
    {
        TrainedTool.Context trained = TrainedTool.Get();
        Csv test = Csv.Read(trained.Files.TestCsv);
        string[] paths = test.Column("ImagePath"), labels = test.Column("Label");
        return ["ImagePath,Label", .. Enumerable.Range(0, paths.Length).Where(row => keep?.Invoke(labels[row]) ?? true).Take(rows)
            .Select(row => $"{Path.Combine(trained.Files.ImageFolder, paths[row])},{labels[row]}")];
    }

    [Test]
    public void AListOfNoRowsOrWithAQuoteNeverClosedIsRefusedBeforeTheModelIsRead()
    {
        using var work = new TemporaryDirectory();
        File.WriteAllLines(work.File("empty.csv"), ["ImagePath,Label"]);
        ExternalProcess.Result empty = InstalledTool.Run(work.Path, "evaluate", "--model", Model, "--data", work.File("empty.csv"), "--json");
        Assert.That(empty.ExitCode, Is.EqualTo(3), empty.Error);
        Assert.That(empty.Output, Is.Empty);
        Assert.That(empty.Error, Does.Contain($"'{work.File("empty.csv")}' has a header and no rows: there is nothing to evaluate"));

        // Line 4 opens a quote that never closes: ML.NET's reader would merge the rows after it into one.
        List<string> lines = TestLines(6);
        lines[3] = lines[3][..(lines[3].IndexOf(',') + 1)] + "\"Trouser";
        File.WriteAllLines(work.File("unclosed.csv"), lines);
        ExternalProcess.Result unclosed = InstalledTool.Run(work.Path, "evaluate", "--model", Model, "--data", work.File("unclosed.csv"), "--on-unknown-label", "skip");
        Assert.That(unclosed.ExitCode, Is.EqualTo(3), unclosed.Error);
        Assert.That(unclosed.Output, Is.Empty);
        Assert.That(unclosed.Error, Does.Contain("a quoted field that is never closed starts on line 4 (record 4)").And.Contain(work.File("unclosed.csv")));
    }

    [Test]
    public void AListOfOneClassGetsItsMetricsAndTheUndefinedReductionIsNullInJson()
    {
        using var work = new TemporaryDirectory();
        File.WriteAllLines(work.File("trousers.csv"), TestLines(5, label => label == "Trouser"));

        JsonElement metrics = JsonDocument.Parse(InstalledTool.Succeed(work.Path, "evaluate", "--model", Model, "--data", work.File("trousers.csv"), "--json").Output).RootElement;
        Assert.That(metrics.GetProperty("rows").GetInt64(), Is.EqualTo(5));
        // The prior log-loss of one class is 0: ML.NET's reduction divides by it.
        Assert.That(metrics.GetProperty("logLossReduction").ValueKind, Is.EqualTo(JsonValueKind.Null));
        double accuracy = metrics.GetProperty("microAccuracy").GetDouble();
        int trouserIndex = metrics.GetProperty("confusionMatrix").GetProperty("classes").EnumerateArray().Select(c => c.GetString()).ToList().IndexOf("Trouser");
        double correct = metrics.GetProperty("confusionMatrix").GetProperty("counts")[trouserIndex][trouserIndex].GetDouble();
        Assert.That(accuracy, Is.EqualTo(correct / 5).Within(1e-12), "the accuracy is the confusion table's diagonal over the rows");

        string text = InstalledTool.Succeed(work.Path, "evaluate", "--model", Model, "--data", work.File("trousers.csv")).Output;
        Assert.That(text, Does.Contain("log-loss reduction not defined"));
        Assert.That(text, Does.Contain("micro accuracy  " + accuracy.ToString("P2", CultureInfo.InvariantCulture)));
    }

    [Test]
    public void WithSkipTheLeftOutRowsImagesAreNotReadAndAListLeftWithoutRowsIsRefused()
    {
        using var work = new TemporaryDirectory();
        List<string> lines = TestLines(6);
        lines.Add("missing.png,Mitten");   // an unknown label on a file that does not exist
        File.WriteAllLines(work.File("data.csv"), lines);
        JsonElement metrics = JsonDocument.Parse(InstalledTool.Succeed(work.Path,
            "evaluate", "--model", Model, "--data", work.File("data.csv"), "--on-unknown-label", "skip", "--json").Output).RootElement;
        Assert.That(metrics.GetProperty("rows").GetInt64(), Is.EqualTo(6));
        Assert.That(metrics.GetProperty("rowsLeftOut").GetInt64(), Is.EqualTo(1));

        File.WriteAllLines(work.File("unknown.csv"), ["ImagePath,Label", "a.png,Mitten", "b.png,Sock"]);
        ExternalProcess.Result none = InstalledTool.Run(work.Path, "evaluate", "--model", Model, "--data", work.File("unknown.csv"), "--on-unknown-label", "skip", "--json");
        Assert.That(none.ExitCode, Is.EqualTo(3), none.Error);
        Assert.That(none.Output, Is.Empty);
        Assert.That(none.Error, Does.Contain($"every one of the 2 rows of '{work.File("unknown.csv")}' has a Label that is none of the model's classes"));
    }

    [Test]
    public void EvaluatingShowsItsProgressInTheListsRows()
    {
        // Every row is decoded and scored in ML.NET's Evaluate: minutes of a large list, where nothing was shown.
        using var work = new TemporaryDirectory();
        File.WriteAllLines(work.File("data.csv"), TestLines(12));

        ExternalProcess.Result result = InstalledTool.Succeed(work.Path, "evaluate", "--model", Model, "--data", work.File("data.csv"));

        string[] progress = result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(line => line.StartsWith("evaluating: ", StringComparison.Ordinal)).ToArray();
        Assert.That(progress, Is.Not.Empty, result.Error);
        Assert.That(progress[0], Does.StartWith("evaluating: row 1 of 12 (8.3%)"));
        Assert.That(progress[^1], Is.EqualTo("evaluating: row 12 of 12 (100.0%)"));
    }

    [Test]
    public void ARowStartingWithTwoSlashesIsRefusedBeforeTheModelIsRead()
    {
        // ML.NET's text loader takes the row for a comment: the metrics would leave it out, and the row counts alone would tell.
        using var work = new TemporaryDirectory();
        List<string> lines = TestLines(4);
        lines[2] = "/" + lines[2];
        File.WriteAllLines(work.File("data.csv"), lines);

        ExternalProcess.Result result = InProcessTool.Run("evaluate", "--model", work.File("no-model.zip"), "--data", work.File("data.csv"));

        Assert.That(result.ExitCode, Is.EqualTo(3), result.Error);
        Assert.That(result.Error, Does.StartWith($"bninception: '{work.File("data.csv")}', row 1 (counting from 0), line 3: the row starts with '//'"));
    }

    [Test]
    public void APathThatTheTextLoaderReadsOtherwiseThanScoreIsRefusedOnceTheModelNamesItsColumn()
    {
        // "Bag, /data/a.png": ML.NET's loader passes over the space, score's reader keeps it (and finds no such file).
        using var work = new TemporaryDirectory();
        List<string> lines = TestLines(3);
        File.WriteAllLines(work.File("data.csv"), ["Label,ImagePath", .. lines.Skip(1).Select(line => $"{line[(line.LastIndexOf(',') + 1)..]}, {line[..line.LastIndexOf(',')]}")]);
        string firstPath = lines[1][..lines[1].LastIndexOf(',')];

        ExternalProcess.Result result = InProcessTool.Run("evaluate", "--model", Model, "--data", work.File("data.csv"));

        Assert.That(result.ExitCode, Is.EqualTo(3), result.Error);
        Assert.That(result.Error, Does.StartWith(
            $"bninception: '{work.File("data.csv")}', row 0 (counting from 0), line 2: ML.NET's text loader, which reads the list for training and evaluation, reads its image path as " +
            $"'{firstPath}' where the CSV reader (and score) reads ' {firstPath}'"));
    }

    [Test]
    public void ABadImageIsNamedWithItsListAndRowInTheToolsWords()
    {
        using var work = new TemporaryDirectory();
        File.WriteAllBytes(work.File("cut.png"), File.ReadAllBytes(TestLines(1)[1].Split(',')[0])[..100]);
        List<string> lines = TestLines(4);
        lines.Insert(3, $"{work.File("cut.png")},Bag");
        File.WriteAllLines(work.File("data.csv"), lines);

        ExternalProcess.Result result = InstalledTool.Run(work.Path, "evaluate", "--model", Model, "--data", work.File("data.csv"));
        Assert.That(result.ExitCode, Is.EqualTo(3), result.Error);
        Assert.That(result.Error, Does.Contain($"'{work.File("data.csv")}', row 2 (counting from 0), line 4: the image '{work.File("cut.png")}' cannot be loaded: "));
        Assert.That(result.Error, Does.Contain("[Truncated]").And.Not.Contain("InvalidImagePolicy"));
    }

    [Test]
    public void AModelsOwnLabelColumnIsTheDefaultAndAbsolutePathsNeedNoFolderOfItsTraining()
    {
        using var work = new TemporaryDirectory();
        TrainedTool.Context trained = TrainedTool.Get();
        // 64 training images in a folder of their own, listed as Path and Category.
        Directory.CreateDirectory(work.File("images"));
        Csv train = Csv.Read(trained.Files.TrainCsv);
        string[] paths = train.Column("ImagePath"), labels = train.Column("Label");
        var lines = new List<string> { "Path,Category" };
        for (int row = 0; row < 64; row++)
        {
            File.Copy(Path.Combine(trained.Files.ImageFolder, paths[row]), work.File($"images/{row}.png"));
            lines.Add($"{row}.png,{labels[row]}");
        }

        File.WriteAllLines(work.File("train.csv"), lines);
        InstalledTool.Succeed(work.Path, "train", "--train", work.File("train.csv"), "--image-folder", work.File("images"), "--path-column", "Path",
            "--label-column", "Category", "--size", "64", "--channels", "gray", "--epochs", "1", "--batch", "32", "--out", work.File("model.zip"));
        Directory.Delete(work.File("images"), recursive: true);   // the model's folder, gone
        File.WriteAllLines(work.File("test.csv"), ["Path,Category", .. TestLines(5).Skip(1)]);

        ExternalProcess.Result result = InstalledTool.Succeed(work.Path, "evaluate", "--model", work.File("model.zip"), "--data", work.File("test.csv"), "--json");
        Assert.That(JsonDocument.Parse(result.Output).RootElement.GetProperty("rows").GetInt64(), Is.EqualTo(5));
        Assert.That(result.Error, Does.Contain($"warning: the model's image folder '{work.File("images")}' does not exist here"));

        ExternalProcess.Result given = InstalledTool.Run(work.Path, "evaluate", "--model", work.File("model.zip"), "--data", work.File("test.csv"), "--image-folder", work.File("nowhere"));
        Assert.That(given.ExitCode, Is.EqualTo(3), given.Error);
        Assert.That(given.Error, Does.Contain($"--image-folder '{work.File("nowhere")}' does not exist"));
    }

    [Test]
    public void CtrlCStopsAnEvaluationWithinARowAndLeavesNoTemporaryFiles()
    {
        using var work = new TemporaryDirectory();
        // Enough rows that the evaluation is still reading when the signal comes.
        List<string> lines = TestLines(TrainedTool.TestImages);
        File.WriteAllLines(work.File("data.csv"), [lines[0], .. Enumerable.Repeat(lines.Skip(1), 40).SelectMany(rows => rows)]);
        Directory.CreateDirectory(InstalledTool.TemporaryFolder);
        string[] before = Directory.GetFileSystemEntries(InstalledTool.TemporaryFolder);

        using System.Diagnostics.Process run = InstalledTool.Start(work.Path, "evaluate", "--model", Model, "--data", work.File("data.csv"));
        Task<string> output = run.StandardOutput.ReadToEndAsync();
        string? line;
        while ((line = run.StandardError.ReadLine()) is not null && !line.StartsWith("evaluating ", StringComparison.Ordinal))
        {
        }

        Assert.That(line, Is.Not.Null, "the evaluation never began");
        ExternalProcess.Run("kill", ["-INT", run.Id.ToString(CultureInfo.InvariantCulture)]).AssertSucceeded();
        string error = run.StandardError.ReadToEnd();
        Assert.That(run.WaitForExit(TimeSpan.FromMinutes(2)), Is.True);
        Assert.That(run.ExitCode, Is.EqualTo(130), error);
        Assert.That(output.Result, Is.Empty, "no metrics of part of the list");
        Assert.That(error, Does.Contain("bninception: interrupted"));
        Assert.That(Directory.GetFileSystemEntries(InstalledTool.TemporaryFolder).Except(before).Where(entry => Path.GetFileName(entry) != ".ses"), Is.Empty,
            "the model's temporary folder is removed");
    }
}
