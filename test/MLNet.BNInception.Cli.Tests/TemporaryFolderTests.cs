using MLNet.BNInception.Cli.CommandLine;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// A temporary folder (TMPDIR) where the tool cannot make the folder for a model's files is an input
/// it cannot use: exit code 3 and one line naming the folder and saying to set TMPDIR, before a
/// model is read or trained. Run as the installed tool: the variable belongs to the process.
/// </summary>
public class TemporaryFolderTests
{
    [TestCase("/nonexistent", "it does not exist")]
    // /proc takes no new folder, for root too (the suite may run as root, whom a folder's permissions do not stop).
    [TestCase("/proc", "no folder can be created in it")]
    public void ATemporaryFolderThatTakesNoFolderIsNamedWithWhatToDo(string temporaryFolder, string reason)
    {
        using var work = new TemporaryDirectory();
        string model = work.File("model.zip");
        File.WriteAllText(model, "a stand-in: the temporary folder is made before the model is read\n");

        ExternalProcess.Result run = InstalledTool.RunWithVariables(
            new Dictionary<string, string?> { ["TMPDIR"] = temporaryFolder }, work.Path, "info", "--model", model);

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.UnreadableInput), run.Error);
        Assert.That(run.Error.Trim(), Is.EqualTo(
            $"bninception: The temporary folder '{temporaryFolder}/' cannot take a folder for the model's files ({reason}); set TMPDIR to a folder that exists and is writable."));
    }

    [TestCase("/nonexistent", "it does not exist")]
    [TestCase("/proc", "no folder can be created in it")]
    public void TrainingIsRefusedBeforeItStartsWhenItsModelCouldNotBeSavedAtTheEnd(string temporaryFolder, string reason)
    {
        // Model.Save stages the network in the temporary folder: found at the end, this was a failure after the whole training.
        using var work = new TemporaryDirectory();
        File.WriteAllLines(work.File("train.csv"), ["ImagePath,Label", "a.png,x", "b.png,y"]);

        ExternalProcess.Result run = InstalledTool.RunWithVariables(new Dictionary<string, string?> { ["TMPDIR"] = temporaryFolder }, work.Path,
            "train", "--train", work.File("train.csv"), "--out", work.File("model.zip"));

        Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.UnreadableInput), run.Error);
        Assert.That(run.Error.Trim(), Is.EqualTo(
            $"bninception: The temporary folder '{temporaryFolder}/' cannot take a folder for the model's files ({reason}); set TMPDIR to a folder that exists and is writable."));
    }
}
