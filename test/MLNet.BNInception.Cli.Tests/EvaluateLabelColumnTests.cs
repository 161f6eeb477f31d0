using System.Text.Json.Nodes;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// <c>bninception evaluate --label-column X</c>: the file's column X holds the true labels, read as the
/// model's own label (Label here) whatever the file calls it, and any column of the model's label name
/// beside it is not read. The reference is the same rows under Label, evaluated without the option.
/// </summary>
public class EvaluateLabelColumnTests
{
    private const int Rows = 40;

    private static string Model => TrainedTool.Get().ModelPath;

    /// <summary>The first <see cref="Rows"/> test rows: absolute image paths and their true labels.</summary>
    private static (string[] Paths, string[] Labels) TestRows()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        Csv test = Csv.Read(trained.Files.TestCsv);
        return ([.. test.Column("ImagePath").Take(Rows).Select(path => Path.Combine(trained.Files.ImageFolder, path))], [.. test.Column("Label").Take(Rows)]);
    }

    /// <summary>A list of <paramref name="header"/> and, per row, the path followed by each of <paramref name="labelColumns"/>' values.</summary>
    private static string Write(TemporaryDirectory work, string name, string header, string[] paths, params string[][] labelColumns)
    {
        File.WriteAllLines(work.File(name), [header, .. paths.Select((path, row) => string.Join(",", [path, .. labelColumns.Select(labels => labels[row])]))]);
        return work.File(name);
    }

    /// <summary>The JSON metrics without the data file's path, which differs between lists of the same rows.</summary>
    private static string Metrics(ExternalProcess.Result run)
    {
        JsonObject metrics = JsonNode.Parse(run.AssertSucceeded().Output)!.AsObject();
        metrics.Remove("data");
        return metrics.ToJsonString();
    }

    [Test]
    [Trains]
    public void LabelsInAColumnOfAnotherNameGetTheMetricsOfTheSameRowsUnderTheModelsLabel()
    {
        using var work = new TemporaryDirectory();
        (string[] paths, string[] labels) = TestRows();
        string reference = Write(work, "label.csv", "ImagePath,Label", paths, labels);
        string renamed = Write(work, "class.csv", "ImagePath,Class", paths, labels);

        string expected = Metrics(InProcessTool.Run("evaluate", "--model", Model, "--data", reference, "--json"));
        string actual = Metrics(InProcessTool.Run("evaluate", "--model", Model, "--data", renamed, "--label-column", "Class", "--json"));

        Assert.That(JsonNode.Parse(expected)!["rows"]!.GetValue<long>(), Is.EqualTo(Rows));
        Assert.That(actual, Is.EqualTo(expected));
        Assert.That(InProcessTool.Run("evaluate", "--model", Model, "--data", renamed, "--label-column", "Class").AssertSucceeded().Output,
            Is.EqualTo(InProcessTool.Run("evaluate", "--model", Model, "--data", reference).AssertSucceeded().Output));
    }

    [Test]
    [Trains]
    public void ALabelColumnOfWrongLabelsIsNotReadWhenAnotherColumnIsGiven()
    {
        using var work = new TemporaryDirectory();
        (string[] paths, string[] labels) = TestRows();
        // Every row's Label is another of the model's classes: read, it would give other metrics and another confusion table.
        string[] classes = [.. labels.Distinct().Order(StringComparer.Ordinal)];
        Assume.That(classes, Has.Length.GreaterThan(1));
        string[] wrong = [.. labels.Select(label => classes[(Array.IndexOf(classes, label) + 1) % classes.Length])];
        string reference = Write(work, "right.csv", "ImagePath,Label", paths, labels);
        string both = Write(work, "both.csv", "ImagePath,Label,Truth", paths, wrong, labels);

        string expected = Metrics(InProcessTool.Run("evaluate", "--model", Model, "--data", reference, "--json"));
        string actual = Metrics(InProcessTool.Run("evaluate", "--model", Model, "--data", both, "--label-column", "Truth", "--json"));

        Assert.That(actual, Is.EqualTo(expected));
    }

    [Test]
    [Trains]
    public void LabelsTheModelDoesNotKnowAreFoundInTheColumnGivenAndNamedByIt()
    {
        using var work = new TemporaryDirectory();
        (string[] paths, string[] labels) = TestRows();
        // Label is right everywhere; Truth has a class the model does not have on row 3.
        string[] truth = [.. labels.Select((label, row) => row == 3 ? "Mitten" : label)];
        string both = Write(work, "both.csv", "ImagePath,Label,Truth", paths, labels, truth);

        ExternalProcess.Result refused = InProcessTool.Run("evaluate", "--model", Model, "--data", both, "--label-column", "Truth");
        Assert.That(refused.ExitCode, Is.EqualTo(3), refused.Error);
        Assert.That(refused.Output, Is.Empty);
        Assert.That(refused.Error, Does.Contain($"'{both}' has 1 row whose Truth is none of the model's classes (rows counting from 0): 'Mitten' (1 row: 3)."));

        // Skipped, the metrics are those of the other rows under Label.
        string reference = Write(work, "known.csv", "ImagePath,Label", [.. paths.Where((_, row) => row != 3)], [.. labels.Where((_, row) => row != 3)]);
        JsonObject skipped = JsonNode.Parse(InProcessTool.Run("evaluate", "--model", Model, "--data", both, "--label-column", "Truth", "--on-unknown-label", "skip", "--json")
            .AssertSucceeded().Output)!.AsObject();
        JsonObject expected = JsonNode.Parse(InProcessTool.Run("evaluate", "--model", Model, "--data", reference, "--json").AssertSucceeded().Output)!.AsObject();
        Assert.That(skipped["rows"]!.GetValue<long>(), Is.EqualTo(Rows - 1));
        Assert.That(skipped["rowsLeftOut"]!.GetValue<long>(), Is.EqualTo(1));
        Assert.That(skipped["unknownLabels"]!.ToJsonString(), Is.EqualTo("""[{"label":"Mitten","rows":1,"firstRows":[3]}]"""));
        foreach (string metric in new[] { "microAccuracy", "macroAccuracy", "topKAccuracy", "logLoss", "perClass", "confusionMatrix" })
        {
            Assert.That(skipped[metric]!.ToJsonString(), Is.EqualTo(expected[metric]!.ToJsonString()), metric);
        }
    }

    [TestCase("Nope", 3, "the file '{data}' has no column 'Nope' (its columns: 'ImagePath', 'Label'); check --label-column")]
    [TestCase("", 2, "--label-column '': give the name of the file's column of true labels")]
    [TestCase(" ", 2, "--label-column ' ': give the name of the file's column of true labels")]
    [TestCase("\t", 2, @"--label-column '\x09': give the name of the file's column of true labels")]
    public void ALabelColumnTheFileLacksOrABlankOneIsRefusedBeforeTheModelIsRead(string column, int exitCode, string message)
    {
        using var work = new TemporaryDirectory();
        File.WriteAllLines(work.File("data.csv"), ["ImagePath,Label", "a.png,Bag", "b.png,Coat"]);

        // No model file: a refusal that names the list or the option was made before the model was looked for.
        ExternalProcess.Result result = InProcessTool.Run("evaluate", "--model", work.File("no-model.zip"), "--data", work.File("data.csv"), "--label-column", column);

        Assert.That(result.ExitCode, Is.EqualTo(exitCode), result.Error);
        Assert.That(result.Output, Is.Empty);
        Assert.That(result.Error, Does.StartWith("bninception: " + message.Replace("{data}", work.File("data.csv"), StringComparison.Ordinal)));
    }
}
