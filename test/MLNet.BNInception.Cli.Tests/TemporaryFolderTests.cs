using MLNet.BNInception.Cli.CommandLine;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// A temporary folder (TMPDIR) where the tool cannot make the folder for a model's files is an input
/// it cannot use: exit code 3 and one line naming the folder and saying to set TMPDIR, before the
/// model is read. Run as the installed tool: the variable belongs to the process.
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

    [Test]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void AReadOnlyTemporaryFolderIsNamedWithWhatToDo()
    {
        Assume.That(Environment.UserName, Is.Not.EqualTo("root"), "a folder's permissions do not stop root: the /proc case stands in");
        using var work = new TemporaryDirectory();
        string model = work.File("model.zip"), readOnly = work.File("read-only");
        File.WriteAllText(model, "a stand-in: the temporary folder is made before the model is read\n");
        Directory.CreateDirectory(readOnly);
        File.SetUnixFileMode(readOnly, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            ExternalProcess.Result run = InstalledTool.RunWithVariables(
                new Dictionary<string, string?> { ["TMPDIR"] = readOnly }, work.Path, "info", "--model", model);

            Assert.That(run.ExitCode, Is.EqualTo(ExitCodes.UnreadableInput), run.Error);
            Assert.That(run.Error.Trim(), Does.StartWith($"bninception: The temporary folder '{readOnly}/' cannot take a folder for the model's files (no folder can be created in it")
                .And.EndWith("set TMPDIR to a folder that exists and is writable."));
        }
        finally
        {
            File.SetUnixFileMode(readOnly, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}
