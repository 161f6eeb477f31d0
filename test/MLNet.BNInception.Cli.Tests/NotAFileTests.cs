namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// A named pipe, a pipe or a device where a command reads or writes a file is refused before it is opened, with the
/// command's exit code and a line naming the option: opening a named pipe nobody writes to waited for ever (and a first
/// SIGTERM did not end the wait), and a piped list, read more than once, looked empty. Other paths of the wrong kind
/// are named for what they are, and by their own option.
/// </summary>
[Trains]
public class NotAFileTests
{
    // Generous for a refusal that comes before any work, short against the tool's ten-minute limit: a hang fails here.
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(1);

    private static ExternalProcess.Result Run(string folder, params string[] arguments) =>
        ExternalProcess.Run(InstalledTool.Command, arguments, folder, timeout: Limit);

    private static string Fifo(TemporaryDirectory work, string name)
    {
        ExternalProcess.Run("mkfifo", [work.File(name)], work.Path).AssertSucceeded();
        return work.File(name);
    }

    [TestCase("evaluate --data")]
    [TestCase("train --train")]
    [TestCase("train --valid")]
    [TestCase("train --init-weights")]
    public void ANamedPipeAsAListOrWeightsIsRefusedWithoutWaitingForAWriter(string where)
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string fifo = Fifo(work, "list.csv");
        string[] arguments = where switch
        {
            "evaluate --data" => ["evaluate", "--model", trained.ModelPath, "--data", fifo],
            "train --train" => ["train", "--train", fifo, "--image-folder", trained.Files.ImageFolder, "--out", work.File("m.zip")],
            "train --valid" => ["train", "--train", trained.Files.TrainCsv, "--valid", fifo, "--image-folder", trained.Files.ImageFolder, "--out", work.File("m.zip")],
            _ => ["train", "--train", trained.Files.TrainCsv, "--init-weights", fifo, "--image-folder", trained.Files.ImageFolder, "--out", work.File("m.zip")],
        };

        ExternalProcess.Result run = Run(work.Path, arguments);

        Assert.That(run.ExitCode, Is.EqualTo(3), run.Error);
        Assert.That(run.Error.Trim(), Does.Contain($"'{fifo}' is a named pipe (FIFO), not a file: it is read more than once; write it to a file first"));
        Assert.That(Directory.GetFiles(work.Path), Is.EqualTo(new[] { fifo }), "nothing written");
    }

    [Test]
    public void APipedListIsRefusedRatherThanReadAsEmpty()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();

        ExternalProcess.Result run = ExternalProcess.Run("bash",
            ["-c", $"cat '{trained.Files.TestCsv}' | '{InstalledTool.Command}' evaluate --model '{trained.ModelPath}' --data /dev/stdin --image-folder '{trained.Files.ImageFolder}'"],
            work.Path, timeout: Limit);

        Assert.That(run.ExitCode, Is.EqualTo(3), run.Error);
        Assert.That(run.Error.Trim(), Does.Contain("the file '/dev/stdin' is a named pipe (FIFO), not a file"));
        Assert.That(run.Error, Does.Not.Contain("no rows"));
    }

    [TestCase("info")]
    [TestCase("score")]
    [TestCase("export")]
    public void ANamedPipeAsTheModelIsRefusedAsAnInvalidModel(string command)
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string fifo = Fifo(work, "model.zip");
        string[] arguments = command switch
        {
            "info" => ["info", "--model", fifo],
            "score" => ["score", "--model", fifo, "--input", trained.Files.TestCsv, "--output", work.File("out.csv")],
            _ => ["export", "--model", fifo, "--onnx", work.File("m.onnx")],
        };

        ExternalProcess.Result run = Run(work.Path, arguments);

        Assert.That(run.ExitCode, Is.EqualTo(4), run.Error);
        Assert.That(run.Error.Trim(), Does.Contain($"'{fifo}' is a named pipe (FIFO), not a file"));
    }

    [TestCase("a named pipe")]
    [TestCase("/dev/null")]
    public void AnOutputThatIsNotAFileIsRefusedBeforeAnyWork(string what)
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string output = what == "/dev/null" ? "/dev/null" : Fifo(work, "out.csv");

        ExternalProcess.Result run = Run(work.Path, "score", "--model", trained.ModelPath, "--input", trained.Files.TestCsv, "--output", output);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.Error);
        Assert.That(run.Error.Trim(), Does.Contain($"--output '{output}' is ").And.Contain(", not a file: every output is written whole to a new file and renamed into place"));
        Assert.That(run.Output, Does.Not.Contain("starting afresh"));
    }

    [TestCase("train")]
    [TestCase("evaluate")]
    [TestCase("score")]
    public void AnImageFolderThatIsAFileIsSaidToBeAFile(string command)
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string file = trained.Files.TestCsv;
        string[] arguments = command switch
        {
            "train" => ["train", "--train", trained.Files.TrainCsv, "--image-folder", file, "--out", work.File("m.zip")],
            "evaluate" => ["evaluate", "--model", trained.ModelPath, "--data", trained.Files.TestCsv, "--image-folder", file],
            _ => ["score", "--model", trained.ModelPath, "--input", trained.Files.TestCsv, "--image-folder", file, "--output", work.File("out.csv")],
        };

        ExternalProcess.Result run = Run(work.Path, arguments);

        Assert.That(run.ExitCode, Is.EqualTo(3), run.Error);
        Assert.That(run.Error.Trim(), Does.EndWith($"--image-folder '{file}' is a file, not a folder: give the folder the list's relative image paths start from"));
    }

    [Test]
    public void WeightsThatAreNoStateDictAreNamedByInitWeights()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();

        ExternalProcess.Result run = Run(work.Path, "train", "--train", trained.Files.TrainCsv, "--image-folder", trained.Files.ImageFolder,
            "--init-weights", trained.ModelPath, "--size", "64", "--out", work.File("m.zip"));

        Assert.That(run.ExitCode, Is.EqualTo(3), run.Error);
        Assert.That(run.Error.Trim(), Does.Contain("without a data.pkl record").And.EndWith($"(--init-weights '{trained.ModelPath}')"));
        Assert.That(run.Error, Does.Not.Contain("--train '"));
    }
}
