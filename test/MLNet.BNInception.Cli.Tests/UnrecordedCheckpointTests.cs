using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using MLNet.BNInception.DemoData;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// A checkpoint written before checkpoints recorded their data (the classes, in key order) cannot be checked
/// against the lists a <c>--resume</c> is given: the tool says so, as the library's trainer does in its log.
/// </summary>
[Trains]
public class UnrecordedCheckpointTests
{
    [Test]
    public void AResumeOfACheckpointThatRecordsNoDataIsWarnedThatItCannotBeCheckedAgainstTheList()
    {
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(work.File("data"), 24, 0, 1);
        string checkpoint = work.File("run.ckpt");
        string[] train =
        [
            "train", "--train", files.TrainCsv, "--image-folder", files.ImageFolder, "--size", "64", "--channels", "gray",
            "--epochs", "1", "--batch", "8", "--no-augment", "--out", work.File("model.zip"), "--checkpoint", checkpoint,
        ];
        InProcessTool.Run(train).AssertSucceeded();
        ExternalProcess.Result recorded = InProcessTool.Run([.. train, "--resume", "--overwrite"]).AssertSucceeded();

        // As versions before the record of the data wrote their checkpoints.
        RemoveDataRecord(checkpoint);
        ExternalProcess.Result unrecorded = InProcessTool.Run([.. train, "--resume", "--overwrite"]).AssertSucceeded();

        Assert.That(recorded.Error, Does.Not.Contain("records no data"), "a checkpoint that records its data is checked, not warned about");
        Assert.That(unrecorded.Error.Split('\n').Where(line => line.StartsWith("warning:", StringComparison.Ordinal)), Is.EqualTo(new[]
        {
            $"warning: the checkpoint '{checkpoint}' records no data (an earlier version, or the engine's BnInceptionTrainer, wrote it), so this resume cannot check that '{files.TrainCsv}' " +
            "is the list the run was started with: the run's classes are taken to be its labels, in the order they first appear in it. Resume it only " +
            "with the lists it was started with, unchanged",
        }), unrecorded.Error);
    }

    private static void RemoveDataRecord(string checkpoint)
    {
        using ZipArchive zip = ZipFile.Open(checkpoint, ZipArchiveMode.Update);
        ZipArchiveEntry entry = zip.Entries.Single(e => e.FullName.EndsWith("/bninception-checkpoint.json", StringComparison.Ordinal));
        JsonObject description;
        using (Stream stream = entry.Open())
        {
            description = JsonNode.Parse(stream)!.AsObject();
        }

        Assert.That(description.Remove("Data"), Is.True, "the checkpoint recorded its data");
        string name = entry.FullName;
        entry.Delete();
        using Stream rewritten = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
        JsonSerializer.Serialize(rewritten, description);
    }
}
