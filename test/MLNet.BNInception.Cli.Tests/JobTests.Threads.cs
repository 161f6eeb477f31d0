using System.Globalization;

namespace MLNet.BNInception.Cli.Tests;

public partial class JobTests
{
    /// <summary>More --threads than cores, which slowed a job many times over, is warned of; as many as the cores is not.</summary>
    [Test]
    public void MoreThreadsThanCoresAreWarnedOf()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        string input = RepeatedList(work, trained, 16);
        string Threads(int count) => count.ToString(CultureInfo.InvariantCulture);

        ExternalProcess.Result many = InstalledTool.Succeed(work.Path, "score", "--model", trained.ModelPath, "--input", input, "--output", work.File("many.csv"),
            "--threads", Threads(Environment.ProcessorCount + 1));
        ExternalProcess.Result cores = InstalledTool.Succeed(work.Path, "score", "--model", trained.ModelPath, "--input", input, "--output", work.File("cores.csv"),
            "--threads", Threads(Environment.ProcessorCount));

        Assert.That(many.Output + many.Error, Does.Contain(
            $"warning: --threads {Environment.ProcessorCount + 1} is more than the {Environment.ProcessorCount} cores this process may use"));
        Assert.That(cores.Output + cores.Error, Does.Not.Contain("warning: --threads"));
        Assert.That(File.ReadAllLines(work.File("many.csv")), Has.Length.EqualTo(1 + 16), "a warning, not a refusal");
    }
}
