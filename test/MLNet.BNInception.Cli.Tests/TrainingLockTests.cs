using System.Diagnostics;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// Two training runs given one --out: the second is refused while the first runs, before it reads a row, and the
/// first saves its model alone. Both used to run, write over each other's checkpoint and report success, the last to
/// end leaving its model.
/// </summary>
[Trains]
public class TrainingLockTests
{
    [TestCase("--out")]
    [TestCase("--checkpoint")]
    public void ASecondRunOnTheSameOutputIsRefusedWhileTheFirstRuns(string shared)
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string[] common = ["train", "--train", trained.Files.TrainCsv, "--image-folder", trained.Files.ImageFolder, "--size", "64", "--channels", "gray", "--epochs", "3", "--batch", "32"];
        string firstOut = work.File("first.zip"), checkpoint = work.File("shared.ckpt");
        string[] first = [.. common, "--out", firstOut, "--checkpoint", checkpoint];
        string[] second = shared == "--out"
            ? [.. common, "--out", firstOut, "--checkpoint", work.File("second.ckpt")]
            : [.. common, "--out", work.File("second.zip"), "--checkpoint", checkpoint];
        string held = shared == "--out" ? firstOut + ".lock" : checkpoint + ".lock";

        using Process running = InstalledTool.Start(work.Path, first);
        Task<string> firstOutput = running.StandardOutput.ReadToEndAsync();
        Task<string> firstError = running.StandardError.ReadToEndAsync();
        var waited = Stopwatch.StartNew();
        while (!File.Exists(held) && !running.HasExited && waited.Elapsed < TimeSpan.FromMinutes(2))
        {
            Thread.Sleep(50);
        }

        Assert.That(File.Exists(held), Is.True, $"the first run holds {held}");
        // Run without InstalledTool's check of the temporary folder, where the first run may make its files meanwhile.
        ExternalProcess.Result refused = ExternalProcess.Run(InstalledTool.Command, second, work.Path, timeout: TimeSpan.FromMinutes(2));
        Assert.That(running.HasExited, Is.False, "the first run was still training when the second was refused");
        running.WaitForExit();

        Assert.That(refused.ExitCode, Is.EqualTo(2), refused.Error);
        Assert.That(refused.Error.Trim(), Does.Contain($"'{(shared == "--out" ? firstOut : checkpoint)}' is being written by another training run (it holds '{held}')"));
        Assert.That(running.ExitCode, Is.Zero, firstOutput.Result + firstError.Result);
        Assert.That(File.Exists(firstOut), Is.True);
        Assert.That(File.Exists(work.File("second.zip")) || File.Exists(work.File("second.ckpt")), Is.False, "the refused run wrote nothing");
        Assert.That(Directory.GetFiles(work.Path, "*.lock"), Is.Empty, "the first run deleted its lock files");
    }
}
