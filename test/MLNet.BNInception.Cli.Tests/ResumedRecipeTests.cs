namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// A --resume goes on with the recipe its checkpoint holds: the same command again says nothing of it, and one that
/// gives other settings is told which are not applied, where it used to train as before without a word.
/// </summary>
[Trains]
public class ResumedRecipeTests
{
    [Test]
    public void AResumeGivenOtherSettingsIsToldTheyAreNotApplied()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string[] command = ["train", "--train", trained.Files.TrainCsv, "--image-folder", trained.Files.ImageFolder, "--size", "64", "--channels", "gray",
            "--epochs", "1", "--batch", "32", "--crop-scale", "0.7,1", "--out", work.File("m.zip")];
        InstalledTool.Succeed(work.Path, command);

        ExternalProcess.Result same = InstalledTool.Succeed(work.Path, [.. command, "--resume"]);
        ExternalProcess.Result other = InstalledTool.Succeed(work.Path, [.. command, "--dropout", "0.5", "--resume"]);

        Assert.That(same.Output + same.Error, Does.Not.Contain("not this command's"));
        Assert.That(other.Output + other.Error, Does.Contain(
            "warning: the run goes on with the settings its checkpoint holds, not this command's (only --precision and --device are taken from it): Dropout 0 (this command: 0.5)."));
    }
}
