using System.Globalization;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.ModelFiles;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// The tool on a disk that fills up: a tmpfs of a few kilobytes mounted in a mount namespace of the
/// run's own (<c>unshare --mount</c>), gone with its process, so nothing of it reaches the machine. The
/// tests run as root, as the MPI-over-TCP tests do. Each writer says which file could not be written and
/// what to do, with exit code 3, not "unexpected IOException" with 1; a model is not called damaged for
/// a full temporary folder; and what was written stays whole for the next run.
/// </summary>
[Trains]
public sealed class FullDiskTests
{
    [Test]
    public void AScoringJobStoppedByAFullDiskSaysSoAndResumesToTheBytesOfAWholeRun()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string list = work.File("list.csv");
        File.WriteAllLines(list, ["Row,ImagePath", .. Enumerable.Range(0, 3000).Select(i => string.Create(CultureInfo.InvariantCulture, $"{i + 1},t10k/{i % 500}.png"))]);
        string[] score = ["score", "--model", trained.ModelPath, "--input", list, "--image-folder", trained.Files.ImageFolder];
        InstalledTool.Succeed(work.Path, [.. score, "--output", work.File("whole.csv")]);

        // 48 KB take about a third of the rows: the default batches (64 rows, under 4 KB) fail in a write.
        ExternalProcess.Result run = OnASmallDisk(work, "48k", $"""
            "$TOOL" {Quoted(score)} --output "$DISK/out.csv"; echo "first exit $?"
            mount -o remount,size=16m "$DISK"
            "$TOOL" {Quoted(score)} --output "$DISK/out.csv" --resume; echo "second exit $?"
            cp "$DISK/out.csv" "$WORK/resumed.csv"
            """);

        Assert.That(run.Output, Does.Contain("first exit 3").And.Contain("second exit 0"), run.Error);
        Assert.That(run.Error, Does.Contain("out.csv' cannot be written: No space left on device").And.Contain("--resume continues it")
            .And.Not.Contain("unexpected"));
        Assert.That(File.ReadAllBytes(work.File("resumed.csv")), Is.EqualTo(File.ReadAllBytes(work.File("whole.csv"))));
    }

    [Test]
    public void AJobWhoseRecordDoesNotFitLeavesNoOutputAndTheSameCommandRunsOnceThereIsRoom()
    {
        // The disk is full before the job starts: its output is created, its record cannot be written. An output
        // without a record would be refused by a rerun ("exists") and by --resume ("no job record") alike.
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string[] score = ["score", "--model", trained.ModelPath, "--input", trained.Files.TestCsv, "--image-folder", trained.Files.ImageFolder];
        ExternalProcess.Result run = OnASmallDisk(work, "64k", $"""
            head -c 1m /dev/zero > "$DISK/filler" 2>/dev/null
            "$TOOL" {Quoted(score)} --output "$DISK/out.csv"; echo "first exit $?"
            echo "left: $(ls -A "$DISK" | grep -v filler)"
            rm "$DISK/filler"
            "$TOOL" {Quoted(score)} --output "$DISK/out.csv"; echo "second exit $?"
            """);

        Assert.That(run.Output, Does.Contain("first exit 3").And.Contain("second exit 0"), run.Error);
        Assert.That(Left(run), Is.Empty, "files left on the disk by the first run");
        Assert.That(run.Error, Does.Contain("out.csv.job.json' cannot be written: No space left on device"));
    }

    [Test]
    public void ACheckpointThatDoesNotFitStopsTrainingAndTheLastOneWrittenResumes()
    {
        // A checkpoint of this network (64x64, grey) is about 82 MB and is replaced through a new file: 120 MB
        // hold the first, not the second beside it.
        using var work = new TemporaryDirectory();
        string[] train = [.. Training(work, epochs: 3), "--out", work.File("model.zip")];
        ExternalProcess.Result run = OnASmallDisk(work, "120m", $"""
            "$TOOL" {Quoted(train)} --checkpoint "$DISK/run.ckpt"; echo "first exit $?"
            echo "left: $(ls -A "$DISK" | grep -v '^run.ckpt$')"
            mount -o remount,size=512m "$DISK"
            "$TOOL" {Quoted(train)} --checkpoint "$DISK/run.ckpt" --resume; echo "second exit $?"
            """);

        Assert.That(run.Output, Does.Contain("first exit 3").And.Contain("second exit 0"), run.Error);
        Assert.That(Left(run), Is.Empty, "nothing but the checkpoint left by the first run");
        Assert.That(run.Error, Does.Contain("training stopped: a file cannot be read or written: No space left on device")
            .And.Contain("run.ckpt' holds the last epoch written: free space and rerun the same command with --resume").And.Not.Contain("unexpected"));
        Assert.That(File.Exists(work.File("model.zip")), Is.True, "the resumed run saved the model");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AFullTemporaryFolderIsNamedOnOneLineLeftEmptyAndTheModelIsNotCalledDamaged(bool roomToUnpackTheNetwork)
    {
        // To load a model ML.NET unpacks its network (about 40 MB) into $TMPDIR, then copies it beside:
        // 1 MB takes neither, half again the network's size the first only.
        TrainedTool.Context trained = TrainedTool.Get();
        long network = BnInceptionModelFile.ReadOnnxModel(trained.ModelPath).Length;
        using var work = new TemporaryDirectory();
        ExternalProcess.Result run = OnASmallDisk(work, roomToUnpackTheNetwork ? $"{network * 3 / 2 / 1024}k" : "1m", $"""
            TMPDIR="$DISK" "$TOOL" info --model '{trained.ModelPath}'; echo "exit $?"
            echo "left: $(ls -A "$DISK")"
            """);

        Assert.That(run.Output, Does.Contain("exit 3"), run.Error);
        Assert.That(run.Error.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1), run.Error);
        Assert.That(run.Error, Does.Contain($"the model '{trained.ModelPath}' cannot be loaded: ML.NET's copy of its network cannot be written: No space left on device")
            .And.Contain("set TMPDIR").And.Not.Contain("damaged").And.Not.Contain("TempFilePath"));
        Assert.That(run.Error, roomToUnpackTheNetwork ? Does.Not.Contain("/ml_dotnet_") : Does.Contain("/ml_dotnet_"), "where the load stopped");
        Assert.That(Left(run), Is.Empty, "files left in the temporary folder");
    }

    [Test]
    public void AnExportThatDoesNotFitSaysSoAndLeavesNothing()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        ExternalProcess.Result run = OnASmallDisk(work, "1m", $"""
            "$TOOL" export --model '{trained.ModelPath}' --onnx "$DISK/model.onnx"; echo "exit $?"
            echo "left: $(ls -A "$DISK")"
            """);

        Assert.That(run.Output, Does.Contain("exit 3"), run.Error);
        Assert.That(Left(run), Is.Empty, "files left on the disk");
        Assert.That(run.Error, Does.Contain("model.onnx' cannot be written: No space left on device").And.Not.Contain("unexpected"));
    }

    [Test]
    public void AModelThatDoesNotFitAfterTrainingIsSavedFromItsCheckpointByResume()
    {
        using var work = new TemporaryDirectory();
        string[] train = [.. Training(work, epochs: 1), "--checkpoint", work.File("run.ckpt")];
        ExternalProcess.Result run = OnASmallDisk(work, "1m", $"""
            "$TOOL" {Quoted(train)} --out "$DISK/model.zip"; echo "first exit $?"
            echo "left: $(ls -A "$DISK")"
            mount -o remount,size=128m "$DISK"
            "$TOOL" {Quoted(train)} --out "$DISK/model.zip" --resume; echo "second exit $?"
            test -s "$DISK/model.zip" && echo "model saved"
            """);

        Assert.That(run.Output, Does.Contain("first exit 3").And.Contain("second exit 0").And.Contain("model saved"), run.Error);
        Assert.That(Left(run), Is.Empty, "files left on the disk by the first run");
        Assert.That(run.Error, Does.Contain("model.zip' cannot be written: No space left on device")
            .And.Contain($"the trained weights are in the checkpoint '{work.File("run.ckpt")}'").And.Contain("--resume").And.Not.Contain("unexpected"));
    }

    // A small training run's arguments: 16 Fashion-MNIST images at 64x64, grey, batches of 4.
    private static string[] Training(TemporaryDirectory work, int epochs)
    {
        FashionMnistFiles.Files files = FashionMnistFiles.Write(work.File("data"), 16, 0, 1);
        return
        [
            "train", "--train", files.TrainCsv, "--image-folder", files.ImageFolder, "--size", "64", "--channels", "gray",
            "--epochs", epochs.ToString(CultureInfo.InvariantCulture), "--batch", "4", "--no-augment",
        ];
    }

    // Runs a bash script with $DISK a tmpfs of SIZE, mounted in a mount namespace of its own; $TOOL is the
    // installed tool, $WORK the test's folder. What the script echoes is the output, the tool's lines the error.
    private static ExternalProcess.Result OnASmallDisk(TemporaryDirectory work, string size, string script)
    {
        string disk = work.File("disk");
        Directory.CreateDirectory(disk);
        string body = $"""
            set -u
            mount -t tmpfs -o size={size} tmpfs "$DISK" || exit 99
            {script}
            """;
        return ExternalProcess.Run("unshare", ["--mount", "--propagation", "private", "bash", "-c", body], work.Path, new Dictionary<string, string?>
        {
            ["TOOL"] = InstalledTool.Command,
            ["DISK"] = disk,
            ["WORK"] = work.Path,
            ["TMPDIR"] = work.Path,
            ["BNINCEPTION_PROGRESS_SECONDS"] = "0",
        }, TimeSpan.FromMinutes(10));
    }

    // What the script's "left: $(ls -A "$DISK")" line listed.
    private static string Left(ExternalProcess.Result run) =>
        run.Output.Split('\n').Single(line => line.StartsWith("left:", StringComparison.Ordinal))["left:".Length..].Trim();

    private static string Quoted(IEnumerable<string> arguments) => string.Join(" ", arguments.Select(argument => "'" + argument.Replace("'", "'\\''", StringComparison.Ordinal) + "'"));
}
