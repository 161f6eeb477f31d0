using System.Diagnostics;
using System.Globalization;
using MLNet.BNInception.Engine;
using MLNet.BNInception.Engine.Distributed;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

/// <summary>
/// The probe's <c>dp-time [STEPS]</c> mode: a measurement for docs/distributed.md, not a check. On
/// as many ranks as mpirun starts, it trains BN-Inception (96 × 96 colour images, 1,000 classes) at a
/// global batch of <see cref="GlobalBatch"/> (so <see cref="GlobalBatch"/> / N per rank) for one
/// warm-up step and STEPS timed ones, and then times <see cref="DataParallel.AverageGradients"/>, the
/// very call a step makes, on an optimizer built as the trainer builds it, alone, 7 times. Rank 0
/// prints the figures. Nothing in the trainer is timed from inside: a step's time is the time
/// between two of rank 0's progress reports, which come once per step on the CPU.
/// </summary>
internal static class TimingProbe
{
    /// <summary>Timed steps when STEPS is not given.</summary>
    public const int DefaultSteps = 4;

    /// <summary>The global batch: on N ranks each takes 32 / N images.</summary>
    public const int GlobalBatch = 32;

    private const int AllReduceCalls = 7;

    public static int Run(MpiWorld world, int steps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        if (GlobalBatch % world.Size != 0)
        {
            throw new ArgumentException($"The global batch of {GlobalBatch} does not split evenly over {world.Size} ranks.");
        }

        var network = new BnInceptionOptions { NumClasses = 1000, InputSize = 96 };
        double[] stepMilliseconds = TimeSteps(world, network, steps);
        double[] allReduceMilliseconds = TimeAverageGradients(world, network, out long elements);
        if (world.Rank == 0)
        {
            double step = Median(stepMilliseconds);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rank 0: {world.Size} rank(s), {GlobalBatch / world.Size} images each, {Environment.GetEnvironmentVariable(TorchRuntime.ThreadsVariable) ?? "default"} libtorch thread(s) each: " +
                $"step ms {Join(stepMilliseconds)}; median {step:F0} ms, {GlobalBatch * 1000 / step:F1} images/s"));
            if (world.IsDistributed)
            {
                double allReduce = Median(allReduceMilliseconds);
                double megabytes = elements * sizeof(float) / 1e6;
                // A ring allreduce sends and receives 2(N-1)/N times the buffer on each rank (NCCL calls
                // the rate that moves it "bus bandwidth").
                double busGigabitsPerSecond = 2.0 * (world.Size - 1) / world.Size * megabytes * 8 / allReduce;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"rank 0: AverageGradients of {elements} floats ({megabytes:F1} MB) ms {Join(allReduceMilliseconds)}; median {allReduce:F1} ms, " +
                    $"{allReduce / step:P1} of the step; {megabytes / allReduce:F2} GB/s of buffer, bus bandwidth {busGigabitsPerSecond:F1} Gbit/s"));
            }
        }

        return 0;
    }

    private static double[] TimeSteps(MpiWorld world, BnInceptionOptions network, int steps)
    {
        // The same images on every rank, as every rank reads the same source; each keeps its share.
        int count = GlobalBatch * (steps + 1);
        using var generator = new Generator(17);
        using Tensor images = rand([count, 3, 96, 96], generator: generator);
        using Tensor labels = randint(0, 1000, [count], generator: generator);
        var options = new TrainerOptions { Epochs = 1, BatchSize = GlobalBatch / world.Size, Seed = 1, Augmentation = AugmentationOptions.None };
        var reports = new List<long>();
        using TrainingResult result = new BnInceptionTrainer(network, options).Fit(
            new InMemoryBatchSource(images, labels, network), onStep: _ => reports.Add(Stopwatch.GetTimestamp()));
        return world.Rank == 0
            ? [.. reports.Zip(reports.Skip(1), (before, after) => Stopwatch.GetElapsedTime(before, after).TotalMilliseconds)]
            : [];
    }

    private static double[] TimeAverageGradients(MpiWorld world, BnInceptionOptions network, out long elements)
    {
        // The trainer's two groups (FlatSgd.ForTraining): conv and fc weights, and the rest.
        using var model = new BnInception(network, seed: 1);
        var decayed = new List<Parameter>();
        var exempt = new List<Parameter>();
        foreach ((string name, Parameter parameter) in model.named_parameters())
        {
            (name.EndsWith("conv.weight", StringComparison.Ordinal) || name == "fc.weight" ? decayed : exempt).Add(parameter);
        }

        var settings = new FlatSgd.Settings(LearningRate: 0.1, Momentum: 0.9, WeightDecay: 0, Nesterov: false);
        using var optimizer = new FlatSgd([(decayed, settings), (exempt, settings)]);
        elements = optimizer.Groups.Sum(group => group.Buffer.Gradients.numel());
        using DataParallel? parallel = DataParallel.For(world);
        if (parallel is null)
        {
            return [];
        }

        parallel.AverageGradients(optimizer); // the first call sets up Open MPI's shared-memory segments
        var milliseconds = new double[AllReduceCalls];
        for (int i = 0; i < milliseconds.Length; i++)
        {
            world.Barrier();
            long start = Stopwatch.GetTimestamp();
            parallel.AverageGradients(optimizer);
            milliseconds[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        return milliseconds;
    }

    private static double Median(double[] values) => values.Order().ElementAt(values.Length / 2);

    private static string Join(double[] values) => string.Join(", ", values.Select(value => value.ToString("F0", CultureInfo.InvariantCulture)));
}
