using System.Text.Json.Nodes;
using MLNet.BNInception.Cli.Scoring;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>A job whose record an earlier version wrote, before the record kept the image folder.</summary>
public partial class JobTests
{
    [TestCase(true)]
    [TestCase(false)]
    public void ResumingFromARecordWithoutItsImageFolderIsWarnedOfWhenTheListHasRelativePaths(bool relative)
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string input = RepeatedList(work, trained, 16);
        if (!relative)
        {
            string absolute = Path.Combine(trained.Files.ImageFolder, "t10k") + "/";
            File.WriteAllLines(input, File.ReadAllLines(input).Select(line => line.Replace(",t10k/", "," + absolute, StringComparison.Ordinal)));
        }

        string output = work.File("out.csv"), record = JobRecord.PathFor(output);
        string[] job = ["score", "--model", trained.ModelPath, "--input", input, "--output", output, "--batch", "8"];
        InstalledTool.Succeed(work.Path, job); // relative paths read from the model's folder
        byte[] whole = File.ReadAllBytes(output);
        string elsewhere = Directory.CreateDirectory(work.File("mounted elsewhere")).FullName;
        File.CreateSymbolicLink(Path.Combine(elsewhere, "t10k"), Path.Combine(trained.Files.ImageFolder, "t10k"));

        // What an earlier version left of a job stopped after its first batch: the rows, and a record without the folder.
        File.WriteAllLines(output, File.ReadLines(output).Take(1 + 8).ToArray());
        JsonObject older = JsonNode.Parse(File.ReadAllText(record))!.AsObject();
        Assert.That(older.Remove("ImageFolder"), Is.True);
        File.WriteAllText(record, older.ToJsonString());

        ExternalProcess.Result resumed = InstalledTool.Succeed(work.Path, [.. job, "--resume", "--image-folder", elsewhere]);

        string[] warnings = resumed.Error.Split('\n').Where(line => line.Contains("warning", StringComparison.Ordinal)).ToArray();
        if (relative)
        {
            Assert.That(warnings, Has.Length.EqualTo(1), resumed.Error);
            Assert.That(warnings[0], Does.StartWith(
                $"warning: --resume: the job record '{record}', of an earlier version, does not say which folder the rows already written read relative image paths from, " +
                $"so it cannot be checked that this run's, '{elsewhere}', is the same").And.Contain("pass --image-folder with the folder the first rows' images came from"));
        }
        else
        {
            Assert.That(warnings, Is.Empty, "a list of absolute paths reads no folder");
        }

        Assert.That(File.ReadAllBytes(output), Is.EqualTo(whole), "the resume scored the second batch, as the uninterrupted run did");
        ExternalProcess.Result finished = InstalledTool.Succeed(work.Path, [.. job, "--resume", "--image-folder", elsewhere]);
        Assert.That(finished.Error, Does.Not.Contain("warning"), "a finished output reads no image");
    }
}
