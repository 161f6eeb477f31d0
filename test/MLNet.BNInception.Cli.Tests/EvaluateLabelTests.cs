using System.Text.Json;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// <c>bninception evaluate</c> over rows whose label is none of the model's classes: ML.NET's evaluator would
/// leave them out unsaid, so the tool refuses them, naming labels and rows, unless told to leave them out,
/// and then counts them in its output.
/// </summary>
[Trains]
public class EvaluateLabelTests
{
    /// <summary>The first ten test rows, with rows 3 and 7 labelled Mitten and row 8 Sock, classes the model does not have.</summary>
    private static string DataWithUnknownLabels(TemporaryDirectory work)
    {
        TrainedTool.Context trained = TrainedTool.Get();
        Csv test = Csv.Read(trained.Files.TestCsv);
        string[] paths = test.Column("ImagePath"), labels = test.Column("Label");
        var lines = new List<string> { "ImagePath,Label" };
        for (int row = 0; row < 10; row++)
        {
            string path = Path.Combine(trained.Files.ImageFolder, paths[row]);
            lines.Add($"{path},{row switch { 3 or 7 => "Mitten", 8 => "Sock", _ => labels[row] }}");
        }

        File.WriteAllLines(work.File("data.csv"), lines);
        return work.File("data.csv");
    }

    [Test]
    public void RowsWithLabelsTheModelDoesNotKnowAreRefusedWithTheirLabelsAndRows()
    {
        using var work = new TemporaryDirectory();
        string data = DataWithUnknownLabels(work);

        ExternalProcess.Result result = InstalledTool.Run(work.Path, "evaluate", "--model", TrainedTool.Get().ModelPath, "--data", data, "--json");

        Assert.That(result.ExitCode, Is.EqualTo(3), result.Error);
        Assert.That(result.Output, Is.Empty, "no metrics over fewer rows than the file holds");
        Assert.That(result.Error, Does.Contain(
            $"'{data}' has 3 rows whose Label is none of the model's classes (rows counting from 0): 'Mitten' (2 rows: 3, 7), 'Sock' (1 row: 8). " +
            "The model's classes are '").And.Contain("'T-shirt/top'").And.Contain("pass --on-unknown-label skip"));
    }

    [Test]
    public void WithSkipTheRowsAreLeftOutAndCountedInTheJsonAndText()
    {
        using var work = new TemporaryDirectory();
        string data = DataWithUnknownLabels(work);
        string model = TrainedTool.Get().ModelPath;

        JsonElement metrics = JsonDocument.Parse(InstalledTool.Succeed(work.Path,
            "evaluate", "--model", model, "--data", data, "--json", "--on-unknown-label", "skip").Output).RootElement;

        Assert.That(metrics.GetProperty("rows").GetInt64(), Is.EqualTo(7));
        Assert.That(metrics.GetProperty("rowsLeftOut").GetInt64(), Is.EqualTo(3));
        Assert.That(metrics.GetProperty("unknownLabels").EnumerateArray()
                .Select(label => (label.GetProperty("label").GetString(), label.GetProperty("rows").GetInt64(),
                    string.Join(",", label.GetProperty("firstRows").EnumerateArray().Select(row => row.GetInt64())))),
            Is.EqualTo(new[] { ("Mitten", 2L, "3,7"), ("Sock", 1L, "8") }));

        string text = InstalledTool.Succeed(work.Path, "evaluate", "--model", model, "--data", data, "--on-unknown-label", "skip").Output;
        Assert.That(text, Does.StartWith("left out 3 rows whose label is none of the model's classes: 'Mitten' (2 rows: 3, 7), 'Sock' (1 row: 8)"));
    }
}
