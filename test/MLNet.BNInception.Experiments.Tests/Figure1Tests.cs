using MLNet.BNInception.Engine;
using MLNet.BNInception.Experiments.Figure1;

namespace MLNet.BNInception.Experiments.Tests;

/// <summary>
/// A short run of the Figure 1 experiment (2,000 steps of each network instead of 50,000): the
/// files it writes, and the paper's effect where it already shows: the network with BN learns
/// faster, and the input of its last-layer sigmoid moves less.
/// </summary>
[Trains]
public class Figure1Tests
{
    private const int Steps = 2000, Every = 250;

    [Test]
    public void ASmokeRunWritesTheCurvesAndShowsBatchNormsEffect()
    {
        using var folder = new TemporaryDirectory();
        TorchRuntime.EnsureLoaded();
        IReadOnlyList<Figure1Point> points = Figure1Experiment.Run(new Figure1Settings { Steps = Steps, Every = Every }, folder.Path, TestContext.Out);

        string[] csv = File.ReadAllLines(folder.File("figure1.csv"));
        Assert.That(csv, Has.Length.EqualTo(2 + (Steps / Every)), "a header, step 0, and every 250 steps");
        Assert.That(csv.Skip(1).All(line => line.Split(',').Length == 9), Is.True);
        Assert.That(csv.Skip(1).Select(line => int.Parse(line.Split(',')[0], System.Globalization.CultureInfo.InvariantCulture)),
            Is.EqualTo(Enumerable.Range(0, 1 + (Steps / Every)).Select(i => i * Every)));
        foreach (string plot in new[] { "figure1a-accuracy.png", "figure1b-without-bn.png", "figure1c-with-bn.png" })
        {
            byte[] png = File.ReadAllBytes(folder.File(plot));
            Assert.That(png.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), plot);
            Assert.That(System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), Is.EqualTo(800), plot + " width");
        }

        // Both start from the same weights: the same accuracy before the first step.
        Assert.That(points[0].AccuracyWithBN, Is.EqualTo(points[0].AccuracyWithoutBN).Within(0.2));
        Figure1Point last = points[^1];
        TestContext.Out.WriteLine($"after {Steps} steps: {last.AccuracyWithoutBN:P2} without BN, {last.AccuracyWithBN:P2} with BN; " +
            $"median drift {Drift(points, p => p.PercentilesWithoutBN):F3} without BN, {Drift(points, p => p.PercentilesWithBN):F3} with BN");
        Assert.That(last.AccuracyWithBN, Is.GreaterThan(last.AccuracyWithoutBN + 0.05), "BN learns faster");
        Assert.That(Drift(points, p => p.PercentilesWithBN), Is.LessThan(Drift(points, p => p.PercentilesWithoutBN)), "BN keeps the sigmoid's input steadier");
    }

    [Test]
    public void ARunStoppedBetweenStepsKeepsItsMeasurementsSoFar()
    {
        using var folder = new TemporaryDirectory();
        TorchRuntime.EnsureLoaded();
        using var stop = new CancellationTokenSource();
        // The measurement at step 30 is logged after it is made: the stop comes before step 31.
        using var log = new StoppingWriter("step 30:", stop, TestContext.Out);
        Assert.That(() => Figure1Experiment.Run(new Figure1Settings { Steps = 100, Every = 10 }, folder.Path, log, stop.Token),
            Throws.InstanceOf<OperationCanceledException>().With.Message.EqualTo(
                $"stopped after 30 steps; {folder.Path} holds the measurements up to step 30: figure1.csv and the three plots"));

        Assert.That(File.ReadAllLines(folder.File("figure1.csv")).Skip(1).Select(line => line.Split(',')[0]), Is.EqualTo(new[] { "0", "10", "20", "30" }));
        Assert.That(Directory.GetFiles(folder.Path, "*.png").Select(Path.GetFileName).Order(),
            Is.EqualTo(new[] { "figure1a-accuracy.png", "figure1b-without-bn.png", "figure1c-with-bn.png" }));
    }

    // How far the median of the sigmoid's input travels over the run, in units of its 15–85
    // percentile spread: the drift the paper's Figure 1(b) shows and (c) does not.
    private static double Drift(IReadOnlyList<Figure1Point> points, Func<Figure1Point, double[]> percentiles)
    {
        double[] medians = points.Skip(1).Select(p => percentiles(p)[1]).ToArray();
        double spread = points.Skip(1).Average(p => percentiles(p)[2] - percentiles(p)[0]);
        return (medians.Max() - medians.Min()) / spread;
    }
}
