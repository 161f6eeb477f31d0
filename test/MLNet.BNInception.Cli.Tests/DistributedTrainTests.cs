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
}
