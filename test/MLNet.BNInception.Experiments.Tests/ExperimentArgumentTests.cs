using MLNet.BNInception.Experiments.Figure3;

namespace MLNet.BNInception.Experiments.Tests;

/// <summary>
/// A mistake in the experiment program's arguments gets one line on standard error and exit code 2,
/// as the bninception tool's do, before any image is loaded: the output folder, made only once every
/// other argument is checked, is not there afterwards.
/// </summary>
public class ExperimentArgumentTests
{
    // The program's own entry point, run in this process ({out} is a folder that does not exist yet).
    [TestCase(new string[0], "usage: MLNet.BNInception.Experiments figure1")]
    [TestCase(new[] { "figure1", "--steps" }, "figure1: '--steps' is not --option value")]
    [TestCase(new[] { "figure1", "--colour", "red" }, "figure1: unknown option --colour")]
    [TestCase(new[] { "figure1", "--steps", "abc" }, "figure1: --steps 'abc' is not a whole number up to 2,147,483,647")]
    [TestCase(new[] { "figure1", "--steps", "0" }, "figure1: --steps 0: train at least 1 step")]
    [TestCase(new[] { "figure1", "--every", "0" }, "figure1: --every 0: measure every 1 or more steps")]
    [TestCase(new[] { "figure1", "--lr", "NaN" }, "figure1: --lr NaN: a finite number above 0")]
    [TestCase(new[] { "figure1", "--lr", "0,5" }, "figure1: --lr '0,5' is not a number: write decimals with a point, 0.5")]
    [TestCase(new[] { "figure1", "--init-std", "-0.01" }, "figure1: --init-std -0.01: a finite number above 0")]
    [TestCase(new[] { "figure1", "--seed", "-1" }, "figure1: --seed -1: a whole number, 0 or more")]
    [TestCase(new[] { "figure3", "--seed", "-1" }, "figure3: --seed '-1' is not a whole number, 0 or more")]
    [TestCase(new[] { "figure3", "--epochs", "0" }, "figure3: --epochs 0: train at least 1 epoch")]
    [TestCase(new[] { "figure3", "--train-images", "0" }, "figure3: --train-images 0: between 32 (a batch) and 58,000")]
    [TestCase(new[] { "figure3", "--train-images", "58001" }, "figure3: --train-images 58001: between 32 (a batch) and 58,000 (Fashion-MNIST's 60,000 training images less the 2,000 validation images, which are never trained on)")]
    [TestCase(new[] { "figure3", "--train-images", "60000" }, "figure3: --train-images 60000: between 32 (a batch) and 58,000")]
    [TestCase(new[] { "figure3", "--train-images", "100000" }, "figure3: --train-images 100000: between 32 (a batch) and 58,000")]
    [TestCase(new[] { "figure3", "--train-images", "12289" }, "figure3: --train-images 12289: leaves a last batch of one image, which batch normalization cannot train on; choose 12288 or 12290")]
    [TestCase(new[] { "figure3", "--precision", "half" }, "figure3: --precision half: use mixed or float32")]
    public void AMistakeGetsOneLineAndExitCode2BeforeAnyWork(string[] arguments, string message)
    {
        using var folder = new TemporaryDirectory();
        string output = folder.File("out");
        ExternalProcess.Result run = Run(arguments.Length == 0 ? arguments : [arguments[0], "--out", output, .. arguments[1..]]);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.Error);
        Assert.That(run.Error, Does.StartWith(message));
        if (arguments.Length > 0)
        {
            Assert.That(run.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "one line");
            Assert.That(output, Does.Not.Exist, "refused before the output folder is made");
        }

        Assert.That(run.Output, Is.Empty);
    }

    // In a German culture a comma marks decimals and a point groups thousands: the program reads and
    // quotes numbers as it does everywhere else, whatever culture it runs in (here, the test's).
    [TestCase(new[] { "figure1", "--lr", "-0.5" }, "figure1: --lr -0.5: a finite number above 0")]
    [TestCase(new[] { "figure1", "--init-std", "-1.5" }, "figure1: --init-std -1.5: a finite number above 0")]
    public void InAGermanCultureAMistakeIsReadAndQuotedAsAnywhereElse(string[] arguments, string message)
    {
        using var german = CultureScope.German();
        AMistakeGetsOneLineAndExitCode2BeforeAnyWork(arguments, message);
    }

    // The settings line opens the run's log; the token, cancelled from the start, stops the run before its first step.
    [Test]
    public void InAGermanCultureTheSettingsLineWritesDecimalPoints()
    {
        using var folder = new TemporaryDirectory();
        using var german = CultureScope.German();
        ExternalProcess.Result run = Run(["figure1", "--lr", "0.25", "--init-std", "0.02", "--steps", "1", "--out", folder.File("out")]);

        Assert.That(run.ExitCode, Is.EqualTo(ExperimentsCommandLine.Interrupted), run.Error);
        Assert.That(run.Output, Does.StartWith("Figure 1 on Fashion-MNIST: Figure1Settings { Steps = 1, Every = 500, BatchSize = 60, LearningRate = 0.25, InitStd = 0.02,"));
    }

    [TestCase("figure1", "/dev/null/x")]
    [TestCase("figure3", "/dev/null/x")]
    [TestCase("figure3", "/proc/version/out")]
    public void AnOutputFolderThatTakesNoFilesIsNamedWithExitCode2(string experiment, string output)
    {
        ExternalProcess.Result run = Run([experiment, "--out", output]);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.Error);
        Assert.That(run.Error, Does.StartWith($"{experiment}: --out '{output}': no file can be written there ("));
        Assert.That(run.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "one line");
    }

    // The validation images are Fashion-MNIST's last of its 60,000 training images: training may take
    // every image before them and none of them.
    [TestCase(2_000, 58_000, true)]
    [TestCase(2_000, 58_001, false)]
    [TestCase(500, 59_500, true)]
    [TestCase(500, 59_501, false)]
    public void TrainingEndsBeforeTheValidationImages(int validationImages, int trainImages, bool allowed)
    {
        var settings = new Figure3Settings { ValidationImages = validationImages, TrainImages = trainImages };
        Assert.That(settings.Validate, allowed ? Throws.Nothing : Throws.ArgumentException.With.Message.Contain("never trained on"));
    }

    [Test]
    public void Figure3RefusesToTrainOnItsValidationImagesBeforeLoadingOrWritingAnything()
    {
        using var folder = new TemporaryDirectory();
        Assert.That(() => Figure3Experiment.Run(new Figure3Settings { TrainImages = 60_000 }, folder.File("out"), TestContext.Out, cancellationToken: Stopped()),
            Throws.ArgumentException.With.Message.StartWith("--train-images 60000: between 32 (a batch) and 58,000"));
        Assert.That(folder.File("out"), Does.Not.Exist);
    }

    // A token cancelled from the start: a mistake let through would end at the run's first step
    // (exit code 130), not after minutes of training.
    private static CancellationToken Stopped() => new CancellationToken(canceled: true);

    private static ExternalProcess.Result Run(string[] arguments)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = ExperimentsCommandLine.Run(arguments, output, error, Stopped());
        return new ExternalProcess.Result("experiments " + string.Join(' ', arguments), exitCode, output.ToString(), error.ToString());
    }
}
