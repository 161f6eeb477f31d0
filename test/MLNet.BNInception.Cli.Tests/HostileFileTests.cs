using System.Text;
using MLNet.BNInception.Cli.Pipelines;
using MLNet.BNInception.Images;
using MLNet.BNInception.IO;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// <c>score</c> over the hostile corpus (test/Shared/HostileFiles): every row comes out, in order, scored or
/// with the reason its file calls for; each input row's bytes are copied as they were, a file name that is
/// not UTF-8 included; nothing beside the output and its job record is written, and nothing read changes.
/// </summary>
[Trains]
public sealed class HostileFileTests
{
    [Test]
    public void ScoreWritesEveryRowScoredOrNamedAndTouchesNothingElse()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        (string corpusFolder, IReadOnlyList<HostileFile> corpus, string input, List<byte[]> lines) = WriteCorpusAndList(work, "list.csv", "Row", i => $"{i}");
        byte[] inputBefore = File.ReadAllBytes(input);
        SortedDictionary<string, string> corpusBefore = HostileFileCorpus.Snapshot(corpusFolder);
        string output = work.File("out.csv");

        ExternalProcess.Result run = InstalledTool.Succeed(work.Path, "score", "--model", trained.ModelPath, "--input", input, "--output", output,
            "--image-folder", corpusFolder, "--batch", "8", "--decoders", "2");

        Csv written = Csv.Read(output);
        string[] errors = written.Column("Error"), predicted = written.Column("PredictedLabel"), rowNumbers = written.Column("Row");
        Assert.That(rowNumbers, Is.EqualTo(corpus.Select((_, i) => i.ToString(System.Globalization.CultureInfo.InvariantCulture))), "every row, in order");
        Assert.Multiple(() =>
        {
            for (int i = 0; i < corpus.Count; i++)
            {
                HostileFile file = corpus[i];
                if (file.Reason is null)
                {
                    Assert.That(errors[i], Is.Empty, file.ToString());
                    Assert.That(predicted[i], Is.Not.Empty, file.ToString());
                }
                else
                {
                    Assert.That(errors[i], Does.StartWith($"{file.Reason}:"), file.ToString());
                    Assert.That(predicted[i], Is.Empty, file.ToString());
                }
            }
        });

        byte[] outputBytes = File.ReadAllBytes(output);
        foreach (byte[] line in lines.Skip(1))
        {
            Assert.That(outputBytes.AsSpan().IndexOf([.. line, (byte)',']), Is.GreaterThanOrEqualTo(0),
                $"the input row {Encoding.UTF8.GetString(line)} is copied byte for byte");
        }

        Assert.That(File.ReadAllBytes(input), Is.EqualTo(inputBefore), "the input list changed");
        Assert.That(HostileFileCorpus.Snapshot(corpusFolder), Is.EqualTo(corpusBefore), "the image folder changed");
        Assert.That(Directory.EnumerateFileSystemEntries(work.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal),
            Is.EqualTo(new[] { "corpus", "list.csv", "out.csv", "out.csv.job.json" }), "files beside the output");
        int bad = corpus.Count(file => file.Reason is not null);
        Assert.That(run.Output, Does.Contain($"{bad} bad rows").And.Contain("NotARegularFile 6").And.Contain("TooManyPixels 2"));
    }

    [Test]
    public void TrainSkippingBadRowsNamesEachAndTouchesNothingElse()
    {
        using var work = new TemporaryDirectory();
        (string corpusFolder, IReadOnlyList<HostileFile> corpus, string input, _) = WriteCorpusAndList(work, "train.csv", "Label", i => i % 2 == 0 ? "even" : "odd");
        byte[] inputBefore = File.ReadAllBytes(input);
        SortedDictionary<string, string> corpusBefore = HostileFileCorpus.Snapshot(corpusFolder);

        ExternalProcess.Result run = InstalledTool.Succeed(work.Path, "train", "--train", input, "--image-folder", corpusFolder, "--on-invalid-image", "skip",
            "--size", "64", "--channels", "gray", "--epochs", "1", "--batch", "5", "--out", work.File("model.zip"));

        // ML.NET's text loader, which train reads its lists with, decodes them as UTF-8: the Latin-1 name
        // arrives with U+FFFD in it and names no file (docs/cli.md says so).
        // The first WarningLines.SkippedRowsListed skipped rows are named, each with its reason; the
        // others are counted, after a line that says so.
        string log = run.Output + run.Error;
        int skipped = corpus.Count(file => file.Reason is not null) + 1;
        Assert.Multiple(() =>
        {
            foreach (HostileFile file in corpus)
            {
                InvalidImageReason? expected = file.RowPath.Contains('\uDCE9') ? InvalidImageReason.FileNotFound : file.Reason;
                string named = file.RowPath.Contains('\uDCE9') ? "caf\uFFFD.png'" : $"path '{file.RowPath}':";
                string? line = log.Split('\n').FirstOrDefault(l => l.Contains(named, StringComparison.Ordinal));
                if (expected is null)
                {
                    Assert.That(line, Is.Null, $"{file} was skipped");
                }
                else if (line is not null)
                {
                    Assert.That(line, file.RowPath.Contains('\uDCE9') ? Does.Contain("no file exists") : Does.Contain($"[{expected}]"), file.ToString());
                }
            }

            Assert.That(log.Split('\n').Count(l => l.Contains("(counting from 0)", StringComparison.Ordinal)), Is.EqualTo(Math.Min(skipped, WarningLines.SkippedRowsListed)),
                "the first rows skipped are named");
            Assert.That(log, skipped > WarningLines.SkippedRowsListed ? Does.Contain("further rows whose images cannot be loaded are skipped without a warning each")
                : Does.Not.Contain("further rows"));
        });
        Assert.That(run.Output, Does.Contain($"trained on {corpus.Count - skipped} images ({skipped} of the {corpus.Count} rows skipped"),
            "every good row trained on, a name with a line break included");
        Assert.That(File.Exists(work.File("model.zip")), Is.True, "the model");
        Assert.That(File.ReadAllBytes(input), Is.EqualTo(inputBefore), "the training list changed");
        Assert.That(HostileFileCorpus.Snapshot(corpusFolder), Is.EqualTo(corpusBefore), "the image folder changed");
    }

    // The corpus in work/corpus, and a list of its rows with a second column; the list's lines as bytes.
    private static (string Folder, IReadOnlyList<HostileFile> Corpus, string List, List<byte[]> Lines) WriteCorpusAndList(
        TemporaryDirectory work, string listName, string secondColumn, Func<int, string> secondValue)
    {
        string folder = work.File("corpus");
        Directory.CreateDirectory(folder);
        IReadOnlyList<HostileFile> corpus = HostileFileCorpus.WriteTo(folder);
        var lines = new List<byte[]> { Encoding.UTF8.GetBytes("ImagePath," + secondColumn) };
        lines.AddRange(corpus.Select((file, i) => (byte[])[.. QuotedPathBytes(file.RowPath), .. Encoding.UTF8.GetBytes("," + secondValue(i))]));
        string list = work.File(listName);
        File.WriteAllBytes(list, [.. lines.SelectMany(line => line.Concat("\n"u8.ToArray()))]);
        return (folder, corpus, list, lines);
    }

    // Every path quoted (commas, quotes and line breaks in names), as the file system holds its bytes.
    private static byte[] QuotedPathBytes(string rowPath) =>
        [(byte)'"', .. FileNameBytes.EncodeNullTerminated(rowPath.Replace("\"", "\"\"", StringComparison.Ordinal))[..^1], (byte)'"'];
}
