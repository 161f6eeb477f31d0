using MLNet.BNInception.DemoData;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// <c>mpirun -np 2 bninception train</c>: the same command on two ranks trains one model
/// data-parallel (docs/distributed.md); rank 0 alone writes the model and the checkpoint, and the
/// model it writes scores like any other.
/// </summary>
[Trains]
public class DistributedTrainTests
{
    [Test]
    public void TwoRanksTrainOneModelThatRankZeroSaves()
    {
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(work.File("data"), 16, 0, 8);
        string model = work.File("model.zip");
        string[] train =
        [
            "train", "--train", files.TrainCsv, "--image-folder", files.ImageFolder, "--size", "64", "--channels", "gray",
            "--epochs", "2", "--batch", "4", "--threads", "1", "--out", model,
        ];

        ExternalProcess.Result run = Mpirun.RunTwoRanks(InstalledTool.Command, train, TimeSpan.FromMinutes(5), work.Path).AssertSucceeded();

        Assert.That(run.Output, Does.Contain("rank 1: trained with the other ranks").And.Contain($"rank 0 saves the model to {model}"));
        Assert.That(run.Output, Does.Contain($"Saved {model}"), "rank 0's report");
        Assert.That(run.Output, Does.Contain("for 2 epochs"), "rank 0 heard of both epochs");
        Assert.That(System.Text.RegularExpressions.Regex.Matches(run.Output + run.Error, "training [0-9]+ classes, 2 epochs of batches of 4 on each of 2 ranks \\(global batches of 8\\): float32 on cpu, 1 thread each"),
            Has.Count.EqualTo(1), "rank 0 alone says what the run computes with, for every rank");
        Assert.That(File.Exists(model + ".ckpt"), Is.True, "rank 0 wrote the checkpoint");
        Assert.That(Directory.EnumerateFiles(work.Path, "*.tmp", SearchOption.AllDirectories), Is.Empty, "no rank left a temporary file");

        // The model is an ordinary one: the single-process tool scores with it.
        string output = work.File("predictions.csv");
        InstalledTool.Succeed(work.Path, "score", "--model", model, "--input", files.TestCsv, "--output", output, "--image-folder", files.ImageFolder);
        Assert.That(File.ReadLines(output).Count(), Is.EqualTo(9), "a header and the 8 test images");
    }

    [Test]
    public void ARankThatFailsAloneEndsTheWholeJobWithItsExitCode()
    {
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(work.File("data"), 16, 0, 1);
        // Rank 1 reads its images from a copy of the folder in which one image is not an image, and, first, from
        // one in which none is: each rank fetches the images of its own rows only, and row 0 may be rank 0's.
        string damaged = work.File("damaged"), unreadable = work.File("unreadable");
        string firstImage = File.ReadLines(files.TrainCsv).Skip(1).First().Split(',')[0];
        foreach (string file in Directory.EnumerateFiles(files.ImageFolder, "*", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(files.ImageFolder, file);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(damaged, relative))!);
            File.Copy(file, Path.Combine(damaged, relative));
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(unreadable, relative))!);
            File.WriteAllText(Path.Combine(unreadable, relative), "not a PNG");
        }

        File.WriteAllText(Path.Combine(damaged, firstImage), "not a PNG");
        string model = work.File("model.zip");
        const string PerRankFolder = "folder=$1; [ \"$OMPI_COMM_WORLD_RANK\" = 1 ] && folder=$2; shift 2; exec \"$0\" \"$@\" --image-folder \"$folder\"";
        string[] train =
        [
            "-c", PerRankFolder, InstalledTool.Command, files.ImageFolder, damaged,
            "train", "--train", files.TrainCsv, "--size", "64", "--channels", "gray", "--epochs", "2", "--batch", "4", "--threads", "1", "--out", model,
        ];

        // Rank 1 fails before training while rank 0 waits for it in training's first collective operation: its exit
        // ends the job (MPI_Abort), where it used to hang in MPI_Finalize, rank 0 waiting for ever.
        ExternalProcess.Result run = Mpirun.RunTwoRanks("bash", [.. train.Select(a => a == damaged ? unreadable : a)], TimeSpan.FromMinutes(3), work.Path);

        Assert.That(run.ExitCode, Is.EqualTo(3), run.Output + run.Error);
        Assert.That(run.Error, Does.Contain($"--train '{files.TrainCsv}', row "));
        Assert.That(run.Error, Does.Match(@"row [0-9]+ \(counting from 0\), line [0-9]+: the image '[^']+' \(column 'ImagePath'\) cannot be loaded: "));
        Assert.That(File.Exists(model), Is.False);
        // mpirun ends rank 0 with SIGTERM, then SIGKILL: rank 0 may have stopped at a safe point and written the
        // checkpoint of the steps both ranks took, as at a Ctrl-C (seen once in CI, on a loaded machine), or
        // been killed while writing it. The runs below start afresh.
        File.Delete(model + ".ckpt");
        foreach (string temporary in Directory.EnumerateFiles(work.Path, "*.tmp"))
        {
            File.Delete(temporary);
        }

        // 18 rows in global batches of 4 x 2: the last global batch of 2 gives each rank 1 image. Both ranks refuse it.
        string eighteen = work.File("eighteen.csv");
        File.WriteAllLines(eighteen, [.. File.ReadLines(files.TrainCsv), .. File.ReadLines(files.TrainCsv).Skip(1).Take(2)]);
        ExternalProcess.Result lastBatch = Mpirun.RunTwoRanks(InstalledTool.Command, [.. train[5..^1].Select(a => a == files.TrainCsv ? eighteen : a), model,
            "--image-folder", files.ImageFolder], TimeSpan.FromMinutes(3), work.Path);
        Assert.That(lastBatch.ExitCode, Is.EqualTo(2), lastBatch.Output + lastBatch.Error);
        Assert.That(lastBatch.Error, Does.Not.Contain("MPI_ABORT"), "both ranks refused it at the same point: they end in step");
        Assert.That(lastBatch.Error, Does.Contain("18 training images in global batches of 4 x 2 ranks leave a last batch of 2 images, 1 on a rank, " +
            "which batch normalization cannot train on (it needs 2 at least): pass --drop-last, or another --batch or -np"));

        // Another learning rate on rank 1: refused on both ranks before the first step, where it used to train
        // to the end and fail there, blaming a network that differed.
        const string OtherRateOnRankOne = "[ \"$OMPI_COMM_WORLD_RANK\" = 1 ] && exec \"$0\" \"$@\" --lr 0.01; exec \"$0\" \"$@\"";
        ExternalProcess.Result otherRate = Mpirun.RunTwoRanks("bash", ["-c", OtherRateOnRankOne, InstalledTool.Command, .. train[5..], "--image-folder", files.ImageFolder],
            TimeSpan.FromMinutes(3), work.Path);
        Assert.That(otherRate.ExitCode, Is.EqualTo(2), otherRate.Output + otherRate.Error);
        Assert.That(otherRate.Error, Does.Contain("The ranks were not given the same run: the training settings of rank 1 differs from rank 0's."));
        Assert.That(otherRate.Error, Does.Not.Contain("epoch 1/"), "refused before training");
        Assert.That(File.Exists(model + ".ckpt"), Is.False);

        // Rank 1 skips its damaged image and so has one example fewer: refused before training, naming the counts;
        // its warning says it is rank 1's.
        ExternalProcess.Result skipped = Mpirun.RunTwoRanks("bash", [.. train, "--on-invalid-image", "skip"], TimeSpan.FromMinutes(3), work.Path);
        Assert.That(skipped.ExitCode, Is.EqualTo(3), skipped.Output + skipped.Error);
        Assert.That(skipped.Error, Does.Match("rank 1: warning: [^\n]*LoadImagesSafely skips row 0"));
        Assert.That(skipped.Error, Does.Contain("the number of training examples of rank 1 differs from rank 0's (rank 0: 16, rank 1: 15)"));
    }
}
