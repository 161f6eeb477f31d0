using System.Diagnostics;
using System.Globalization;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Engine.IO;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Plots;
using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.BNInception.Experiments.Figure1;

/// <summary>Settings of the Figure 1 experiment; the defaults are the paper's where it states them.</summary>
internal sealed record Figure1Settings
{
    /// <summary>Training steps of each network (the paper: 50,000).</summary>
    public int Steps { get; init; } = 50_000;

    /// <summary>Steps between measurements on the test set.</summary>
    public int Every { get; init; } = 500;

    /// <summary>Examples per step (the paper: 60).</summary>
    public int BatchSize { get; init; } = 60;

    /// <summary>
    /// Plain SGD's learning rate, the same for both networks. The paper does not state it; 0.5 is
    /// the rate at which the network without BN learns at all within the budget from this
    /// initialisation (docs/experiments.md).
    /// </summary>
    public double LearningRate { get; init; } = 0.5;

    /// <summary>
    /// Standard deviation of the Gaussian initial weights. The paper says only "small random
    /// Gaussian values"; 0.01 makes each hidden layer's output nearly constant at the start, the
    /// regime where the paper's effect shows.
    /// </summary>
    public double InitStd { get; init; } = 0.01;

    /// <summary>Seed of the initial weights and of the order of the examples; both networks get the same.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Which unit of the last hidden layer is followed (the paper shows one).</summary>
    public int Unit { get; init; }

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming the first setting out of range, by its option
    /// of the experiment program where it has one, before any image is loaded.
    /// </summary>
    public void Validate()
    {
        // Each range is written as what a value must satisfy, so that NaN, for which every comparison is false, fails it.
        if (Steps < 1) throw new ArgumentException($"--steps {Steps}: train at least 1 step");
        if (Every < 1) throw new ArgumentException($"--every {Every}: measure every 1 or more steps");
        if (!(LearningRate > 0 && double.IsFinite(LearningRate))) throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--lr {LearningRate}: a finite number above 0"));
        if (!(InitStd > 0 && double.IsFinite(InitStd))) throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"--init-std {InitStd}: a finite number above 0"));
        if (Seed < 0) throw new ArgumentException($"--seed {Seed}: a whole number, 0 or more");
        if (BatchSize is < 2 or > FashionMnist.TrainingImages) throw new ArgumentException($"BatchSize {BatchSize}: batch normalization needs 2 or more examples, and there are {FashionMnist.TrainingImages}");
        if (Unit is < 0 or >= SigmoidNetwork.Hidden) throw new ArgumentException($"Unit {Unit}: one of the last hidden layer's {SigmoidNetwork.Hidden} units, 0 to {SigmoidNetwork.Hidden - 1}");
    }
}

/// <summary>One measurement: the step, each network's test accuracy and the followed sigmoid input's 15th, 50th and 85th percentiles over the test set.</summary>
internal sealed record Figure1Point(int Step, double AccuracyWithoutBN, double AccuracyWithBN, double[] PercentilesWithoutBN, double[] PercentilesWithBN);

/// <summary>
/// The paper's Figure 1, on Fashion-MNIST (Debian has no MNIST): the same sigmoid network trained
/// with and without batch normalization, from the same weights on the same batches, measured every
/// <see cref="Figure1Settings.Every"/> steps. Writes figure1.csv and three plots.
/// </summary>
internal static class Figure1Experiment
{
    public static readonly double[] Quantiles = [0.15, 0.50, 0.85];

    /// <summary>Trains both networks, measuring them every <see cref="Figure1Settings.Every"/> steps, and writes the CSV and plots.</summary>
    /// <exception cref="ArgumentException">A setting is out of range (<see cref="Figure1Settings.Validate"/>); nothing was loaded or written.</exception>
    /// <exception cref="OperationCanceledException">
    /// <paramref name="cancellationToken"/> stopped the run between two steps; the files hold the
    /// measurements made until then, and the message says up to which step.
    /// </exception>
    public static IReadOnlyList<Figure1Point> Run(Figure1Settings settings, string outputFolder, TextWriter log, CancellationToken cancellationToken = default)
    {
        settings.Validate();
        Directory.CreateDirectory(outputFolder);
        using DisposeScope data = NewDisposeScope();
        (Tensor trainImages, Tensor trainLabels) = Flat("train");
        (Tensor testImages, Tensor testLabels) = Flat("t10k");

        using var plain = new SigmoidNetwork(batchNorm: false, settings.InitStd, settings.Seed);
        using var normalised = new SigmoidNetwork(batchNorm: true, settings.InitStd, settings.Seed);
        using var plainOptimizer = optim.SGD(plain.parameters(), settings.LearningRate);
        using var normalisedOptimizer = optim.SGD(normalised.parameters(), settings.LearningRate);
        using var order = new Generator((ulong)settings.Seed);

        var points = new List<Figure1Point> { Measure(0) };
        var clock = Stopwatch.StartNew();
        long examples = trainImages.size(0);
        Tensor permutation = randperm(examples, generator: order);
        long position = 0;
        for (int step = 1; step <= settings.Steps; step++)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                permutation.Dispose();
                throw new OperationCanceledException(KeepMeasurements(points, settings, outputFolder, step - 1), cancellationToken);
            }

            using (DisposeScope scope = NewDisposeScope())
            {
                if (position + settings.BatchSize > examples)
                {
                    permutation.Dispose();
                    permutation = randperm(examples, generator: order).DetachFromDisposeScope();
                    position = 0;
                }

                Tensor indices = permutation.narrow(0, position, settings.BatchSize);
                position += settings.BatchSize;
                Tensor images = trainImages.index_select(0, indices), labels = trainLabels.index_select(0, indices);
                Step(plain, plainOptimizer, images, labels);
                Step(normalised, normalisedOptimizer, images, labels);
            }

            if (step % settings.Every == 0 || step == settings.Steps)
            {
                Figure1Point point = Measure(step);
                points.Add(point);
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"step {step}: test accuracy {point.AccuracyWithoutBN:P2} without BN, {point.AccuracyWithBN:P2} with BN ({clock.Elapsed.TotalSeconds:F0} s)"));
            }
        }

        permutation.Dispose();
        Write(points, settings, outputFolder);
        return points;

        Figure1Point Measure(int step)
        {
            (double plainAccuracy, double[] plainPercentiles) = Evaluate(plain, testImages, testLabels, settings.Unit);
            (double bnAccuracy, double[] bnPercentiles) = Evaluate(normalised, testImages, testLabels, settings.Unit);
            return new Figure1Point(step, plainAccuracy, bnAccuracy, plainPercentiles, bnPercentiles);
        }
    }

    // A run stopped early keeps its curves so far: the measurements up to the last one are whole.
    private static string KeepMeasurements(IReadOnlyList<Figure1Point> points, Figure1Settings settings, string folder, int stepsDone)
    {
        if (points.Count < 2)
        {
            return $"stopped after {stepsDone} steps, before the first measurement after step 0: nothing of this run was written to {folder}";
        }

        Write(points, settings, folder);
        return $"stopped after {stepsDone} steps; {folder} holds the measurements up to step {points[^1].Step}: figure1.csv and the three plots";
    }

    private static void Step(SigmoidNetwork network, SGD optimizer, Tensor images, Tensor labels)
    {
        network.train();
        Tensor loss = F.cross_entropy(network.call(images), labels);
        optimizer.zero_grad();
        loss.backward();
        // TorchSharp's SGD.step with its numbers in held Scalars (dotnet/TorchSharp#1434).
        SgdStep.Apply(optimizer);
    }

    // Test accuracy, and the percentiles of one last-layer sigmoid's input over the test set (BN in
    // inference mode: its population statistics, as the paper's network is tested).
    private static (double Accuracy, double[] Percentiles) Evaluate(SigmoidNetwork network, Tensor images, Tensor labels, int unit)
    {
        network.eval();
        using IDisposable noGrad = no_grad();
        using DisposeScope scope = NewDisposeScope();
        Tensor logits = network.Run(images, out Tensor sigmoidInput);
        double accuracy = logits.argmax(1).eq(labels).sum().item<long>() / (double)labels.size(0);
        Tensor percentiles = sigmoidInput.select(1, unit).quantile(tensor(Quantiles, ScalarType.Float32));
        return (accuracy, percentiles.data<float>().ToArray().Select(v => (double)v).ToArray());
    }

    // Fashion-MNIST as 784 values in [0, 1] per image.
    private static (Tensor Images, Tensor Labels) Flat(string split)
    {
        (byte[] pixels, long[] labels, int count) = FashionMnist.Load(FashionMnist.DefaultFolder, split, int.MaxValue);
        // A Scalar held to the end rather than made implicitly from 255: a garbage collection can free
        // an implicit one while the native call reads it (dotnet/TorchSharp#1434).
        using Scalar byteRange = 255.ToScalar();
        Tensor images = tensor(pixels, ScalarType.Byte).reshape(count, 784).to(ScalarType.Float32).div_(byteRange);
        return (images, tensor(labels));
    }

    private static void Write(IReadOnlyList<Figure1Point> points, Figure1Settings settings, string folder)
    {
        var csv = new List<string> { "step,accuracy_without_bn,accuracy_with_bn,p15_without_bn,p50_without_bn,p85_without_bn,p15_with_bn,p50_with_bn,p85_with_bn" };
        csv.AddRange(points.Select(p => CsvText.Record(new[] { p.AccuracyWithoutBN, p.AccuracyWithBN }
            .Concat(p.PercentilesWithoutBN).Concat(p.PercentilesWithBN).Select(v => v.ToString("R", CultureInfo.InvariantCulture)).Prepend(p.Step.ToString(CultureInfo.InvariantCulture)))));
        // A rerun makes these files again: they are not synced to disk.
        AtomicFile.WriteAllLines(Path.Combine(folder, "figure1.csv"), csv, flushToDisk: false);

        double[] steps = points.Select(p => (double)p.Step).ToArray();
        AtomicFile.WriteAllBytes(Path.Combine(folder, "figure1a-accuracy.png"), LinePlot.Png("(a) Test accuracy, Fashion-MNIST, sigmoid network", "training step", "test accuracy",
        [
            new("without BN", steps, points.Select(p => p.AccuracyWithoutBN).ToArray()),
            new("with BN", steps, points.Select(p => p.AccuracyWithBN).ToArray()),
        ]), flushToDisk: false);
        string[] names = ["15th percentile", "50th percentile", "85th percentile"];
        AtomicFile.WriteAllBytes(Path.Combine(folder, "figure1b-without-bn.png"), LinePlot.Png($"(b) Without BN: input of sigmoid {settings.Unit} of the last hidden layer", "training step", "value",
            names.Select((name, q) => new Series(name, steps, points.Select(p => p.PercentilesWithoutBN[q]).ToArray())).ToArray()), flushToDisk: false);
        AtomicFile.WriteAllBytes(Path.Combine(folder, "figure1c-with-bn.png"), LinePlot.Png($"(c) With BN: input of sigmoid {settings.Unit} of the last hidden layer", "training step", "value",
            names.Select((name, q) => new Series(name, steps, points.Select(p => p.PercentilesWithBN[q]).ToArray())).ToArray()), flushToDisk: false);
    }
}
