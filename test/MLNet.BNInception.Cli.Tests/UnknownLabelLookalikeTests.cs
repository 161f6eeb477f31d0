using MLNet.BNInception.Cli.Pipelines;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// An unknown label that is a class in another Unicode normal form printed exactly as the class in the refusal, and
/// one in another case nearly so: the message says which class each is and how it differs.
/// </summary>
public class UnknownLabelLookalikeTests
{
    [Test]
    public void ALabelInAnotherNormalFormOrCaseIsToldApartFromItsClass()
    {
        var unknown = new UnknownLabels([
            new UnknownLabels.Label("Cafe\u0301", 2, [0, 1]),
            new UnknownLabels.Label("coat", 1, [3]),
            new UnknownLabels.Label("Mitten", 1, [4]),
        ]);

        string hints = unknown.LookalikesOf(["Caf\u00e9", "Coat", "Bag"]);

        Assert.That(hints, Is.EqualTo(
            " ('Cafe\u0301' is the class 'Caf\u00e9' in another Unicode normal form (other code points, printed alike); " +
            "'coat' is the class 'Coat' in another case: labels are compared code point by code point)"));
        Assert.That(new UnknownLabels([new UnknownLabels.Label("Mitten", 1, [4])]).LookalikesOf(["Coat"]), Is.Empty);
    }

    [Trains]
    [Test]
    public void EvaluateSaysAWronglyCasedLabelIsAClassInAnotherCase()
    {
        TrainedTool.Context trained = TrainedTool.Get();
        using var work = new TemporaryDirectory();
        Csv test = Csv.Read(trained.Files.TestCsv);
        string path = Path.Combine(trained.Files.ImageFolder, test.Column("ImagePath")[0]);
        File.WriteAllLines(work.File("data.csv"), ["ImagePath,Label", $"{path},coat", $"{path},{test.Column("Label")[0]}"]);

        ExternalProcess.Result result = InstalledTool.Run(work.Path, "evaluate", "--model", trained.ModelPath, "--data", work.File("data.csv"));

        Assert.That(result.ExitCode, Is.EqualTo(3), result.Error);
        Assert.That(result.Error, Does.Contain("'coat' (1 row: 0) ('coat' is the class 'Coat' in another case: labels are compared code point by code point). The model's classes are"));
    }
}
