namespace MLNet.BNInception.Cli.Tests;

public partial class JobTests
{
    /// <summary>
    /// An output whose rows were removed or added by hand (say, error rows taken out before a resume) is refused by
    /// --resume: it used to resume a row late, losing one row and writing another twice, and report success.
    /// </summary>
    [TestCase("removed")]
    [TestCase("added")]
    public void AResumeOfAnOutputWithRowsRemovedOrAddedByHandIsRefused(string edit)
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string output = work.File("out.csv");
        string[] job = ["score", "--model", trained.ModelPath, "--input", RepeatedList(work, trained, 40), "--output", output, "--batch", "8"];
        InstalledTool.Succeed(work.Path, job);
        List<string> lines = [.. File.ReadAllLines(output)];
        if (edit == "removed")
        {
            lines.RemoveAt(4);
        }
        else
        {
            lines.Insert(4, lines[4]);
        }

        // The last batch is cut off too, as a job stopped there would leave it: the resume has rows to score.
        File.WriteAllLines(output, lines.Take(lines.Count - 8));
        byte[] edited = File.ReadAllBytes(output);

        ExternalProcess.Result run = InstalledTool.Run(work.Path, [.. job, "--resume"]);

        Assert.That(run.ExitCode, Is.EqualTo(3), run.Error);
        Assert.That(run.Error.Trim(), Does.StartWith($"bninception: --resume: the output '{output}' does not hold the input's rows in order: its row ")
            .And.Contain("Rows of the output were removed, added or changed since the job wrote them"));
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(edited[..Math.Min(edited.Length, File.ReadAllBytes(output).Length)]), "nothing written after the cut");
    }
}
