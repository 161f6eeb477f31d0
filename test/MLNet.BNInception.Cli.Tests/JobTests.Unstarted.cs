using MLNet.BNInception.Cli.Scoring;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>A job that was killed before it began: what it leaves does not stop the next run.</summary>
public partial class JobTests
{
    [TestCase("--resume")]
    [TestCase(null)]
    public void AJobKilledBeforeItsFirstRecordStartsAfreshWithOrWithoutResume(string? flag)
    {
        // What a kill between creating the output and writing its job record leaves: an empty output and
        // no record. Refused, it would stop a retry loop that always passes --resume for good.
        using var work = new TemporaryDirectory();
        (string[] job, string whole, string output) = UninterruptedRun(work);
        File.WriteAllBytes(output, []);

        ExternalProcess.Result run = InstalledTool.Succeed(work.Path, [.. job, "--output", output, .. flag is null ? Array.Empty<string>() : [flag]]);

        Assert.That(run.Error, Does.Contain($"'{output}' is empty and has no job record (a job stopped before its first row): starting afresh"));
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(File.ReadAllBytes(whole)));
        Assert.That(File.Exists(JobRecord.PathFor(output)), Is.True);
    }
}
