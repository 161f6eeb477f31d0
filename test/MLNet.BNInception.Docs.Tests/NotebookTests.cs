using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace MLNet.BNInception.Docs.Tests;

/// <summary>
/// Every notebook of docs/notebooks/, run as a user runs it: in its folder, through
/// <see cref="NotebookRun"/>, with our packages from the local feed that <see cref="PackedFeed"/>
/// packed (the folder's NuGet.config names it). A failing cell fails the test with the notebook and
/// the cell; then what the cells showed is read back as a reader sees it: pictures of the data, the
/// training curves the trainer drew, the metrics and confusion tables, and the table of predictions
/// for a folder of images. The notebooks train, so their test carries [Trains].
/// </summary>
public class NotebookTests
{
    /// <summary>The size of the training-curves chart our trainer draws (MLNet.BNInception.Plots' TrainingCurvesChart).</summary>
    private static readonly (int Width, int Height) CurvesSize = (1200, 450);

    /// <summary>What each notebook shows that its test checks: its classes, and the folder whose images its last table scores.</summary>
    private static readonly Dictionary<string, NotebookShows> Notebooks = new()
    {
        ["fashion-mnist.ipynb"] = new(
            ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
            ScoredFolder: "fashion-mnist/images/new"),
    };

    private static string NotebookFolder => Path.Combine(PackedFeed.Repository, "docs", "notebooks");

    public static IEnumerable<string> NotebookNames() => Directory.GetFiles(NotebookFolder, "*.ipynb").Select(Path.GetFileName).Order()!;

    [Test]
    public void EveryNotebookInTheFolderIsChecked()
    {
        Assert.That(NotebookNames(), Is.EquivalentTo(Notebooks.Keys), $"the notebooks of {NotebookFolder}, each with what its test checks");
    }

    [Trains]
    [TestCaseSource(nameof(NotebookNames))]
    public async Task TheNotebookRunsAndShowsImagesCurvesMetricsAndPredictions(string name)
    {
        NotebookShows shows = Notebooks[name];
        string[] before = Directory.GetFileSystemEntries(NotebookFolder);
        string executed = Path.Combine(TestContext.CurrentContext.WorkDirectory, "executed-notebooks", name);
        NotebookRun run;
        try
        {
            run = await NotebookRun.RunAsync(Path.Combine(NotebookFolder, name), executed);
        }
        finally
        {
            TestContext.Out.WriteLine($"the notebook with its outputs: {executed}");
        }

        try
        {
            string[] html = run.Cells.SelectMany(cell => cell.Values("text/html")).ToArray();

            (int Width, int Height)[] images = [.. html.SelectMany(ImagesIn), .. run.Cells.SelectMany(cell => cell.Values("image/png")).Select(PngSize)];
            Assert.That(images, Does.Contain(CurvesSize), "the training curves the trainer drew, shown in the notebook");
            Assert.That(images.Where(size => size != CurvesSize), Is.Not.Empty, "pictures of the data");

            string metrics = html.Single(value => value.Contains(">Micro accuracy<", StringComparison.Ordinal));
            Match micro = Regex.Match(metrics, @">Micro accuracy</td>\s*<td>(?:<[^>]*>)*\s*([0-9.eE+-]+)");
            Assert.That(micro.Success, Is.True, $"the metrics table holds the micro accuracy as a number: {metrics}");
            // Ten classes: chance is 0.1. A notebook whose model learned nothing would still pass a [0, 1] check.
            Assert.That(double.Parse(micro.Groups[1].Value, CultureInfo.InvariantCulture), Is.InRange(0.3, 1.0), "the micro accuracy, well above chance");

            string[][] confusion = TableRows(html.Single(value => value.Contains(@"<th>Actual \ Predicted</th>", StringComparison.Ordinal)));
            Assert.That(confusion.Select(row => row[1]), Is.EquivalentTo(shows.Classes), "the confusion table has a row per class");
            Assert.That(confusion.Select(row => row.Length), Has.All.EqualTo(shows.Classes.Length + 3), "index, class, a column per class, recall");

            string scoredFolder = Path.Combine(NotebookFolder, shows.ScoredFolder);
            string[][] predictions = TableRows(html.Last(value => value.Contains("<th>PredictedLabel</th>", StringComparison.Ordinal)));
            Assert.That(predictions.Select(row => row[1]), Is.EquivalentTo(Directory.GetFiles(scoredFolder, "*.png").Select(Path.GetFileName)),
                $"the predictions table has a row for each image of {scoredFolder}");
            Assert.That(predictions.Select(row => row[2]).Distinct(), Is.SubsetOf(shows.Classes), "each prediction is a class");
        }
        finally
        {
            // What the notebook wrote beside itself (its data, model and curves), unless it was there before.
            foreach (string entry in Directory.GetFileSystemEntries(NotebookFolder).Except(before))
            {
                if (Directory.Exists(entry))
                {
                    Directory.Delete(entry, recursive: true);
                }
                else
                {
                    File.Delete(entry);
                }
            }
        }
    }

    /// <summary>The width and height of each PNG image an &lt;img&gt; tag of <paramref name="html"/> holds as data.</summary>
    private static IEnumerable<(int Width, int Height)> ImagesIn(string html) =>
        Regex.Matches(html, @"<img\b[^>]*\bsrc=""data:image/png;base64,([^""]+)""").Select(match => PngSize(match.Groups[1].Value));

    /// <summary>The size a base-64 PNG file says it has in its header, after checking it is one.</summary>
    private static (int Width, int Height) PngSize(string base64)
    {
        byte[] png = Convert.FromBase64String(base64);
        byte[] signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        Assert.That(png.Length > 24 && png.AsSpan(0, 8).SequenceEqual(signature) && png.AsSpan(12, 4).SequenceEqual("IHDR"u8), Is.True,
            "an image shown is a PNG file, its header first");
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    /// <summary>The text of each cell of each row of an HTML table's body.</summary>
    private static string[][] TableRows(string table)
    {
        string body = Regex.Match(table, "<tbody>(.*?)</tbody>", RegexOptions.Singleline).Groups[1].Value;
        return Regex.Matches(body, "<tr[^>]*>(.*?)</tr>", RegexOptions.Singleline)
            .Select(row => Regex.Matches(row.Groups[1].Value, "<td[^>]*>(.*?)</td>", RegexOptions.Singleline)
                .Select(cell => WebUtility.HtmlDecode(Regex.Replace(cell.Groups[1].Value, "<[^>]*>", "")).Trim()).ToArray())
            .ToArray();
    }

    /// <param name="Classes">The class names, as its tables name them.</param>
    /// <param name="ScoredFolder">The folder, relative to the notebook's, whose images its last table scores.</param>
    private sealed record NotebookShows(string[] Classes, string ScoredFolder);
}
