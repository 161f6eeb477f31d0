using MLNet.BNInception.Experiments.Figure3;

namespace MLNet.BNInception.Experiments.Tests;

/// <summary>
/// The paper's table from validation points written by hand: the first step at which each
/// configuration reaches Inception's best validation accuracy, "never" when it does not, and "n/a"
/// when Inception has no result to reach.
/// </summary>
public class Figure3TableTests
{
    private static Figure3Point Point(string name, int epoch, double accuracy) => new(name, epoch, epoch * 100L, 1.0, 1.0, accuracy);

    [Test]
    public void StepsAreCountedToInceptionsBestNotItsLast()
    {
        Figure3Point[] points =
        [
            Point("Inception", 1, 0.50), Point("Inception", 2, 0.70), Point("Inception", 3, 0.60),
            Point("BN-x5", 1, 0.65), Point("BN-x5", 2, 0.72), Point("BN-x5", 3, 0.71),
            Point("BN-x30", 1, 0.60), Point("BN-x30", 2, 0.69),
        ];
        List<Figure3Summary> table = Figure3Experiment.Summarise(points, Notes("Inception", "BN-x5", "BN-x30"));

        Assert.That(table.Select(row => (row.Configuration, row.StepsText, row.BestAccuracy)), Is.EqualTo(new[]
        {
            ("Inception", "200", 0.70), ("BN-x5", "200", 0.72), ("BN-x30", "never", 0.69),
        }));
    }

    [Test]
    public void WithoutAnInceptionResultNoConfigurationReachesIt()
    {
        Figure3Point[] points = [Point("BN-x5", 1, 0.65), Point("BN-x5", 2, 0.72), Point("BN-x30", 1, 0.10)];
        List<Figure3Summary> table = Figure3Experiment.Summarise(points, Notes("BN-x5", "BN-x30"));

        Assert.That(table.Select(row => (row.Configuration, row.StepsText, row.StepsToBaselineBest)), Is.EqualTo(new[]
        {
            ("BN-x5", "n/a", (long?)null), ("BN-x30", "n/a", null),
        }));
    }

    [Test]
    public void AnInceptionThatDivergedBeforeItsFirstEpochLeavesNothingToReach()
    {
        Figure3Point[] points = [Point("BN-x5", 1, 0.65)];
        var notes = new Dictionary<string, string> { ["Inception"] = "diverged: the loss became NaN at step 3", ["BN-x5"] = "1.0 min" };
        List<Figure3Summary> table = Figure3Experiment.Summarise(points, notes);

        Assert.That(table.Select(row => (row.Configuration, row.StepsText)), Is.EqualTo(new[] { ("Inception", "n/a"), ("BN-x5", "n/a") }));
    }

    private static Dictionary<string, string> Notes(params string[] names) => names.ToDictionary(name => name, _ => "1.0 min");
}
