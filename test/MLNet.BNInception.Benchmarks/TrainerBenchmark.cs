using System.Diagnostics;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;
using static TorchSharp.torch;

namespace MLNet.BNInception.Benchmarks;

/// <summary>
/// The engine's own training loop, <see cref="BnInceptionTrainer"/>, over random images held in
/// memory: what an application that calls the engine gets, where the "train" mode times a plain
/// forward-backward-step loop over one batch. One epoch of warm-up plus timed steps; each timed
/// step's rate is taken from one step's report to the next (on the CPU the trainer reports every
/// step as it ends).
/// </summary>
internal static class TrainerBenchmark
{
    public static object Run(int side, int batch, int warmupSteps, int timedSteps, bool channelsLast, TrainingPrecision precision, bool augmented)
    {
        int steps = warmupSteps + timedSteps;
        manual_seed(0);
        using Tensor images = randn([(long)steps * batch, 3, side, side]);
        using Tensor labels = randint(0, 1000, [(long)steps * batch]);
        var options = new TrainerOptions
        {
            Epochs = 1,
            BatchSize = batch,
            LearningRate = 0.01,
            ChannelsLast = channelsLast,
            Precision = precision,
            Augmentation = new AugmentationOptions { Enabled = augmented },
        };
        var trainer = new BnInceptionTrainer(new BnInceptionOptions { InputSize = side, NumClasses = 1000 }, options);
        var rates = new List<double>();
        var clock = Stopwatch.StartNew();
        TrainingResult result = trainer.Fit(images, labels, onStep: progress =>
        {
            if (progress.Step > warmupSteps)
            {
                rates.Add(batch / clock.Elapsed.TotalSeconds);
            }

            clock.Restart();
        });
        result.Model.Dispose();
        rates.Sort();
        return new
        {
            engine = "MLNet.BNInception (TorchSharp 0.107, libtorch 2.10), BnInceptionTrainer",
            mode = "train-engine",
            layout = channelsLast ? "channels-last" : "contiguous",
            precision = precision == TrainingPrecision.BFloat16Mixed ? "bfloat16-mixed" : "float32",
            augmented,
            image_side = side,
            batch,
            threads = get_num_threads(),
            warmup_steps = warmupSteps,
            timed_steps = timedSteps,
            images_per_second = Rates.Median(rates),
            runs = rates,
            peak_resident_bytes = Memory.PeakResidentBytes(),
        };
    }
}
