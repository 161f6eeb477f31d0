using MLNet.BNInception.Engine;
using MLNet.BNInception.Experiments.Figure3;

namespace MLNet.BNInception.Experiments.Tests;

/// <summary>
/// A short run of the Figure 3 miniature: two of the five configurations (Inception and BN-x5) for
/// one epoch of 20 steps on 640 images; the files it writes, and BN-x5 ahead of Inception by more
/// than 5 points, which is where the paper's effect already shows (seen on 2026-12-06, one libtorch
/// thread: 25.8% against 12.0% after 20 steps). A second epoch (39.8% against 23.8% after 40) and a
/// third (52.8% against 38.4%) showed nothing more and cost about 35 s each of the suite's 15
/// minutes; 2 epochs of 15 steps left BN-x5 behind after the first (10.4% against 11.6%), so the 20
/// steps stay.
/// </summary>
[Trains]
public class Figure3Tests
{
    [Test]
    public void ASmokeRunWritesTheTableAndCurvesAndBnX5LearnsFasterThanInception()
    {
        using var folder = new TemporaryDirectory();
        TorchRuntime.EnsureLoaded();
        var settings = new Figure3Settings { TrainImages = 640, ValidationImages = 500, Epochs = 1 };
        Assert.That(Figure3Experiment.Configurations(settings).Select(c => c.Name),
            Is.EqualTo(new[] { "Inception", "BN-Baseline", "BN-x5", "BN-x30", "BN-x5-Sigmoid" }));
        (IReadOnlyList<Figure3Point> points, IReadOnlyList<Figure3Summary> summary) =
            Figure3Experiment.Run(settings, folder.Path, TestContext.Out, only: ["Inception", "BN-x5"]);

        string[] curves = File.ReadAllLines(folder.File("figure3.csv"));
        Assert.That(curves, Has.Length.EqualTo(1 + 2));
        Assert.That(curves.Skip(1).Select(line => line.Split(',')[2]), Is.EqualTo(new[] { "20", "20" }), "steps after the epoch");
        string[] table = File.ReadAllLines(folder.File("figure3-table.csv"));
        Assert.That(table, Has.Length.EqualTo(3));
        byte[] png = File.ReadAllBytes(folder.File("figure3-validation-accuracy.png"));
        Assert.That(png.Take(4), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47 }));

        Figure3Summary inception = summary.Single(s => s.Configuration == "Inception");
        Figure3Summary bnX5 = summary.Single(s => s.Configuration == "BN-x5");
        TestContext.Out.WriteLine($"best validation accuracy: Inception {inception.BestAccuracy:P2}, BN-x5 {bnX5.BestAccuracy:P2}");
        Assert.That(inception.StepsToBaselineBest, Is.Not.Null, "the baseline reaches its own best");
        Assert.That(points.Select(p => p.Configuration), Is.EqualTo(new[] { "Inception", "BN-x5" }), "a validation point per configuration");
        Assert.That(bnX5.BestAccuracy, Is.GreaterThan(inception.BestAccuracy + 0.05));
    }
}
