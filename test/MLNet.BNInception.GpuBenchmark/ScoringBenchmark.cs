using System.Diagnostics;
using MLNet.BNInception.Engine;
using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.Network;
using static TorchSharp.torch;

namespace MLNet.BNInception.GpuBenchmark;

/// <summary>
/// The engine's <see cref="BnInceptionScorer"/> (BN folded, channels-last, float32 or bfloat16) on
/// random weights and images. A run is one <see cref="BnInceptionScorer.Logits"/> call over
/// <see cref="BenchmarkSettings.StepsPerRun"/> batches, which queues every batch and reads the logits
/// back once, at the end: the host waits for the device once per run, as a caller would. With --data
/// host the images are in pageable host memory and the scorer stages each batch through pinned
/// memory; with --data device they are already there.
/// </summary>
internal static class ScoringBenchmark
{
    public static Dictionary<string, object?> Run(BenchmarkSettings settings)
    {
        Device device = TorchRuntime.ResolveDevice(settings.Device);
        long count = (long)settings.StepsPerRun * settings.Batch;
        (Tensor images, Tensor labels) = Machine.RandomImages(settings, count, device, settings.Data);
        labels.Dispose();
        var options = new ScorerOptions
        {
            BatchSize = settings.Batch,
            Precision = settings.Precision == "bfloat16" ? ScoringPrecision.BFloat16 : ScoringPrecision.Float32,
            Device = settings.Device,
        };
        using (images)
        using (var net = new BnInception(new BnInceptionOptions { InputSize = settings.Side, NumClasses = settings.Classes }))
        using (var scorer = new BnInceptionScorer(net, options))
        {
            int warmupRuns = (settings.Warmup + settings.StepsPerRun - 1) / settings.StepsPerRun;
            for (int run = 0; run < warmupRuns; run++)
            {
                using Tensor logits = scorer.Logits(images);
            }

            var rates = new List<double>();
            for (int run = 0; run < settings.Iterations; run++)
            {
                long started = Stopwatch.GetTimestamp();
                using Tensor logits = scorer.Logits(images);
                rates.Add(count / Stopwatch.GetElapsedTime(started).TotalSeconds);
            }

            return Machine.Result(settings, device, rates, new() { ["images_per_run"] = count, ["batch_norm_folded"] = scorer.IsFolded });
        }
    }
}
