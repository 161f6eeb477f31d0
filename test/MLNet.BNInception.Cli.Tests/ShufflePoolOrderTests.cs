using MLNet.BNInception.DemoData;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// <c>train --shuffle-pool N</c> reads the list in its file's order through a pool of N rows, which mixes only rows
/// near each other: a list sorted by class, as a listing of one folder per class is, trains on batches of one or two
/// classes for most of an epoch. The tool says so, once, in its user's terms; a list in mixed order, or one held in
/// memory (no <c>--shuffle-pool</c>), gets no such warning.
/// </summary>
[Trains]
public class ShufflePoolOrderTests
{
    // Forty rows of up to ten classes and a pool of eight: sorted, the label changes at most nine times in 39 neighbours,
    // under half the 35 or so of a mixed order, which the trainer takes as grouped by label.
    private const int Rows = 40;
    private const string Pool = "8";

    private static string[] Train(FashionMnistFiles.Files files, string list, string model, params string[] more) =>
    [
        "train", "--train", list, "--image-folder", files.ImageFolder, "--size", "64", "--channels", "gray",
        "--epochs", "1", "--batch", "8", "--no-augment", "--out", model, .. more,
    ];

    // The training list's rows sorted by their label (the last field: the paths hold no comma), the header kept first.
    private static string SortedByLabel(FashionMnistFiles.Files files, string path)
    {
        string[] lines = File.ReadAllLines(files.TrainCsv);
        File.WriteAllLines(path, [lines[0], .. lines.Skip(1).OrderBy(line => line[(line.LastIndexOf(',') + 1)..], StringComparer.Ordinal)]);
        return path;
    }

    // The same rows in an order drawn from a fixed seed, as shuf would mix them.
    private static string Shuffled(string sortedList, string path)
    {
        string[] lines = File.ReadAllLines(sortedList);
        string[] rows = lines[1..];
        new Random(7).Shuffle(rows);
        File.WriteAllLines(path, [lines[0], .. rows]);
        return path;
    }

    private static string[] Warnings(ExternalProcess.Result run) =>
        run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(line => line.Contains("warning:", StringComparison.Ordinal)).ToArray();

    [Test]
    public void ASortedListReadThroughAPoolGetsOneWarningInTheToolsTerms()
    {
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(work.File("data"), Rows, 0, 1);
        string sorted = SortedByLabel(files, work.File("sorted.csv"));

        ExternalProcess.Result run = InProcessTool.Run(Train(files, sorted, work.File("model.zip"), "--shuffle-pool", Pool)).AssertSucceeded();

        Assert.That(Warnings(run), Is.EqualTo(new[]
        {
            $"warning: --shuffle-pool {Pool} reads '{sorted}' in its order, and its {Rows} training rows come grouped by label: a pool of {Pool} rows " +
            "mixes only rows near each other, so most batches hold few classes, which trains poorly. Drop --shuffle-pool: the tool then holds the list " +
            "in memory (its paths and labels, not the images) and reads it in a fresh order every epoch; or, for a list larger than the memory, " +
            "shuffle its lines once beforehand, keeping the header line first (shuf)",
        }), run.Error);
        Assert.That(run.Error, Does.Not.Contain("AppendCacheCheckpoint"), "the library's advice is for code that builds the pipeline");
        Assert.That(File.Exists(work.File("model.zip")), Is.True, "a warning, not a refusal");
    }

    [Test]
    public void AMixedListThroughAPoolOrASortedListHeldInMemoryGetsNoWarning()
    {
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(work.File("data"), Rows, 0, 1);
        string sorted = SortedByLabel(files, work.File("sorted.csv"));
        string shuffled = Shuffled(sorted, work.File("shuffled.csv"));

        ExternalProcess.Result mixed = InProcessTool.Run(Train(files, shuffled, work.File("mixed.zip"), "--shuffle-pool", Pool)).AssertSucceeded();
        ExternalProcess.Result heldInMemory = InProcessTool.Run(Train(files, sorted, work.File("held.zip"))).AssertSucceeded();

        Assert.That(Warnings(mixed), Is.Empty, mixed.Error);
        Assert.That(Warnings(heldInMemory), Is.Empty, heldInMemory.Error);
    }
}
