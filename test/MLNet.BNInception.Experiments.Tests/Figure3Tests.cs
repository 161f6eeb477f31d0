using MLNet.BNInception.Engine;
using MLNet.BNInception.Experiments.Figure3;

namespace MLNet.BNInception.Experiments.Tests;

/// <summary>
/// A short run of the Figure 3 miniature, stopped as Ctrl-C would stop it: Inception and BN-x5 for
/// one epoch of 20 steps on 640 images, then BN-x30 cancelled in its first batch. The files hold the
/// two that finished, written before the stop; the table agrees with the curves; and BN-x5 is ahead
/// of Inception by more than 5 points, which is where the paper's effect already shows (seen on
/// 2026-12-06, one libtorch thread: 25.8% against 12.0% after 20 steps). A second epoch (39.8%
/// against 23.8% after 40) and a third (52.8% against 38.4%) showed nothing more and cost about 35 s
/// each of the suite's 15 minutes; 2 epochs of 15 steps left BN-x5 behind after the first (10.4%
/// against 11.6%), so the 20 steps stay.
/// </summary>
[Trains]
public class Figure3Tests
{
    [Test]
    public void ARunStoppedInItsThirdConfigurationKeepsTheTwoThatFinishedAndBnX5LearnsFasterThanInception()
    {
        using var folder = new TemporaryDirectory();
        TorchRuntime.EnsureLoaded();
        var settings = new Figure3Settings { TrainImages = 640, ValidationImages = 500, Epochs = 1 };
        using var stop = new CancellationTokenSource();
        // BN-x5's epoch is logged as it ends: the stop comes before BN-x30's first batch.
        using var log = new StoppingWriter("BN-x5, epoch 1:", stop, TestContext.Out);
        Assert.That(() => Figure3Experiment.Run(settings, folder.Path, log, only: ["Inception", "BN-x5", "BN-x30"], cancellationToken: stop.Token),
            Throws.InstanceOf<OperationCanceledException>().With.Message.EqualTo($"stopped during BN-x30; {folder.Path} holds the 2 configurations that had finished " +
                "(Inception, BN-x5): figure3.csv, figure3-table.csv and figure3-validation-accuracy.png"));

        string[][] curves = File.ReadAllLines(folder.File("figure3.csv")).Skip(1).Select(line => line.Split(',')).ToArray();
        Assert.That(curves.Select(row => (row[0], row[2])), Is.EqualTo(new[] { ("Inception", "20"), ("BN-x5", "20") }), "a validation point per finished configuration, after its 20 steps");
        byte[] png = File.ReadAllBytes(folder.File("figure3-validation-accuracy.png"));
        Assert.That(png.Take(4), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47 }));

        // The table from the curves, worked out here: each best is the configuration's one point, and
        // BN-x5 reaches Inception's best at step 20 only if its point is as high.
        double inception = Accuracy(curves[0]), bnX5 = Accuracy(curves[1]);
        TestContext.Out.WriteLine($"validation accuracy after 20 steps: Inception {inception:P2}, BN-x5 {bnX5:P2}");
        string[] table = File.ReadAllLines(folder.File("figure3-table.csv"));
        Assert.That(table.Skip(1).Select(line => line.Split(',')[..3]), Is.EqualTo(new[]
        {
            new[] { "Inception", "20", curves[0][5] },
            new[] { "BN-x5", bnX5 >= inception ? "20" : "never", curves[1][5] },
        }));
        Assert.That(bnX5, Is.GreaterThan(inception + 0.05));
    }

    private static double Accuracy(string[] row) => double.Parse(row[5], System.Globalization.CultureInfo.InvariantCulture);
}
