using MLNet.BNInception.Engine.Interop;
using MLNet.BNInception.Demo;
using MLNet.BNInception.DemoData;

namespace MLNet.BNInception.Tests;

/// <summary>
/// The demo's entry point, run in this process: a mistake in its arguments is one line naming the
/// argument and exit code 2, before any work (the output folder, made once every other argument is
/// checked, is not there afterwards); a stop is exit code 130 with a line that says what there is to
/// resume. Runs that should end before any work get a token cancelled from the start, so that one
/// wrongly let through stops at its first image rather than training.
/// </summary>
public class DemoCommandLineTests
{
    [TestCase(new[] { "--train-images", "70000" }, "demo: --train-images 70000: between 100 (8% are held out for validation) and 60,000, Fashion-MNIST's training images")]
    [TestCase(new[] { "--train-images", "99" }, "demo: --train-images 99: between 100")]
    [TestCase(new[] { "--test-images", "20000" }, "demo: --test-images 20000: between 1 and 10,000, Fashion-MNIST's test images")]
    [TestCase(new[] { "--epochs", "abc" }, "demo: --epochs needs a whole number above 0, not 'abc'")]
    [TestCase(new[] { "--epochs", "0" }, "demo: --epochs needs a whole number above 0, not '0'")]
    [TestCase(new[] { "--colour", "red" }, "demo: unknown argument '--colour'")]
    [TestCase(new[] { "--test-images" }, "demo: --test-images needs a value")]
    public void AMistakeGetsOneLineAndExitCode2BeforeAnyWork(string[] arguments, string message)
    {
        using var folder = new TemporaryDirectory();
        ExternalProcess.Result run = Run(["--output", folder.File("out"), .. arguments], new CancellationToken(canceled: true));

        AssertOneLine(run, 2, message);
        Assert.That(run.Error, Does.Contain("usage: demo"));
        Assert.That(folder.File("out"), Does.Not.Exist, "refused before the output folder is made");
    }

    [TestCase("/dev/null/x")]
    [TestCase("/proc/version/out")]
    public void AnOutputFolderThatTakesNoFilesIsNamedWithExitCode2(string output)
    {
        AssertOneLine(Run(["--output", output], new CancellationToken(canceled: true)), 2, $"demo: --output '{output}': no file can be written there (");
    }

    [Test]
    public void AStopBeforeTrainingSaysThereIsNothingToResume()
    {
        using var folder = new TemporaryDirectory();
        ExternalProcess.Result run = Run(["--output", folder.Path, "--train-images", "100", "--test-images", "5"], new CancellationToken(canceled: true));

        AssertOneLine(run, 130, "demo: stopped before training had written a checkpoint: there is nothing to resume; run again to start");
        Assert.That(Path.Combine(folder.Path, "training.ckpt"), Does.Not.Exist);
        Assert.That(Path.Combine(folder.Path, "data", "train.csv"), Does.Not.Exist, "stopped at the first image, before a list was written");
    }

    // A stop in training's first batch leaves a checkpoint, which the line names; a resume of it on
    // other training images is refused before training, as a mistake in the arguments.
    [Test]
    public void AStopInTrainingLeavesACheckpointThatOnlyTheSameImagesResume()
    {
        using var folder = new TemporaryDirectory();
        using var stop = new CancellationTokenSource();
        string checkpoint = Path.Combine(folder.Path, "training.ckpt");
        using (var log = new StoppingWriter("BN-Inception: ", stop, TestContext.Out))
        {
            ExternalProcess.Result stopped = Run(["--output", folder.Path, "--train-images", "100", "--test-images", "5"], stop.Token, log);
            AssertOneLine(stopped, 130, $"demo: stopped. The checkpoint in {checkpoint} is valid: run again with --resume to continue.");
        }

        Assert.That(checkpoint, Does.Exist);
        ExternalProcess.Result other = Run(["--output", folder.Path, "--train-images", "120", "--test-images", "5", "--resume"], new CancellationToken(canceled: false));
        TestContext.Out.WriteLine(other.Error);
        AssertOneLine(other, 2, "demo: --resume: ");
        Assert.That(other.Error, Does.EndWith("In the demo: give that run's --train-images, or leave out --resume.\n"));
    }

    // The 8% hold-out is drawn row by row with the demo's seed: of the first 103 images it keeps 97
    // for training (seen), three batches of 32 and one image, which BN cannot train on alone. Before,
    // the run was refused ("the 97 images left to train on … leave a last batch of one"); now each
    // epoch leaves that one image out, and the log says so. The test stops the run at the warning.
    [Test]
    public void ACountThatLeavesALastBatchOfOneTrainsWithoutItsLastImageAndSaysSo()
    {
        using var folder = new TemporaryDirectory();
        using var stop = new CancellationTokenSource();
        using var output = new StringWriter();
        using var log = new StoppingWriter("leave a last batch of 1 image", stop, output);
        ExternalProcess.Result run = Run(["--output", folder.Path, "--train-images", "103", "--test-images", "5"], stop.Token, log);

        Assert.That(output.ToString(), Does.Contain("97 training rows in batches of 32 leave a last batch of 1 image, which batch normalization cannot train on: " +
            "each epoch leaves out the one image its shuffled order puts last (drawn anew each epoch, so it may repeat) and trains on 96 of the 97 rows."), run.Error);
        Assert.That(run.ExitCode, Is.EqualTo(130), "stopped at the warning, in training: " + run.Error);
    }

    // Before, the demo took no Ctrl-C outside training: it went on to the end and exited with 0.
    [Test]
    [Trains]
    public void AStopAfterTrainingEndsTheRunAndSaysTheCheckpointHoldsTheFinishedRun()
    {
        using var folder = new TemporaryDirectory();
        using var stop = new CancellationTokenSource();
        using var log = new StoppingWriter("test: micro accuracy", stop, TestContext.Out);
        ExternalProcess.Result stopped = Run(["--output", folder.Path, "--train-images", "100", "--test-images", "5"], stop.Token, log);

        AssertOneLine(stopped, 130, $"demo: stopped after training: the checkpoint in {Path.Combine(folder.Path, "training.ckpt")} holds the finished run; " +
            "run again with --resume to evaluate, save and export it without training again.");
        Assert.That(Path.Combine(folder.Path, "model.zip"), Does.Not.Exist, "stopped before the model is saved");
    }

    // The demo's own data, an image damaged where the next run's check of its images (its ends)
    // cannot see it: the loader's InvalidImageException went up unhandled, a stack trace and exit 134.
    [Test]
    public void AnImageThatCannotBeLoadedIsOneLineAndExitCode3()
    {
        using var folder = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(Path.Combine(folder.Path, "data"), 100, 0, 5);
        string image = Path.Combine(files.ImageFolder, "train", "0.png");
        byte[] bytes = File.ReadAllBytes(image);
        bytes.AsSpan(8, 25).Fill(0xFF);  // the header chunk, between the signature and the last chunk
        File.WriteAllBytes(image, bytes);
        ExternalProcess.Result run = Run(["--output", folder.Path, "--train-images", "100", "--test-images", "5"], CancellationToken.None);

        AssertOneLine(run, 3, $"demo: the image 'train/0.png' cannot be loaded: '{image}' ");
        Assert.That(run.Error, Does.EndWith($"The demo's images are its own: delete {Path.Combine(folder.Path, "data")} and run again to write them anew.\n"));
    }

    // Before, the trainer's InvalidDataException went up unhandled: a stack trace and exit 134.
    [TestCase("not a checkpoint", TestName = "{m}(not a checkpoint)")]
    [TestCase("format 2", TestName = "{m}(an earlier version's format)")]
    public void ACheckpointThatCannotBeContinuedIsOneLineAndExitCode2BeforeAnyWork(string kind)
    {
        using var folder = new TemporaryDirectory();
        string checkpoint = Path.Combine(folder.Path, "training.ckpt");
        if (kind == "format 2")
        {
            // As versions before the description's own record wrote it: the JSON as a byte tensor among the weights.
            using TorchSharp.torch.Tensor meta = TorchSharp.torch.tensor(System.Text.Encoding.UTF8.GetBytes("{\"FormatVersion\":2}"));
            using TorchSharp.torch.Tensor bias = TorchSharp.torch.zeros(10);
            PyTorchStateDict.Save([new("model.fc.bias", bias), new("trainer.meta", meta)], checkpoint);
        }
        else
        {
            File.WriteAllText(checkpoint, "a text file where the checkpoint would be");
        }

        ExternalProcess.Result run = Run(["--output", folder.Path, "--train-images", "100", "--test-images", "5", "--resume"], new CancellationToken(canceled: true));

        AssertOneLine(run, 2, kind == "format 2"
            ? $"demo: --resume: {checkpoint} cannot be continued: it is a checkpoint of an earlier version, whose format this one does not continue; run again without --resume to start afresh."
            : $"demo: --resume: {checkpoint} is not a PyTorch file");
        Assert.That(run.Error, Does.EndWith("; run again without --resume to start afresh.\n"));
        Assert.That(Path.Combine(folder.Path, "data"), Does.Not.Exist, "refused before any image is written");
    }

    private static void AssertOneLine(ExternalProcess.Result run, int exitCode, string message)
    {
        Assert.That(run.ExitCode, Is.EqualTo(exitCode), run.Error);
        Assert.That(run.Error, Does.StartWith(message));
        Assert.That(run.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "one line");
    }

    private static ExternalProcess.Result Run(string[] arguments, CancellationToken cancellationToken, TextWriter? log = null)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = DemoCommandLine.Run(arguments, log ?? output, error, cancellationToken);
        return new ExternalProcess.Result("demo " + string.Join(' ', arguments), exitCode, output.ToString(), error.ToString());
    }
}
