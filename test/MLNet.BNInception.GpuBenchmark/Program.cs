using System.Text.Json;
using MLNet.BNInception.Engine;
using MLNet.BNInception.GpuBenchmark;

// The benchmark's GPU mode: one measurement of BN-Inception on a CUDA device (or, to try the
// program, on the CPU), printed as one JSON line. run-on-device.sh runs it alternately with
// python/pytorch_gpu_bench.py (the same work in the machine's PyTorch) and reports medians and
// ratios; README.md beside this file says how to prepare and run it. Each measurement runs in a
// process of its own, so neither side inherits the other's warm caches or GPU memory.
//
//   train-engine  BnInceptionTrainer.Fit, the engine's public API: images in host memory (or, with
//                 --data device, already on the device), --augment for the random crop and flip,
//                 --precision float32 or bfloat16-mixed
//   train-loop    a plain TorchSharp loop over the same network with TorchSharp's own optim.SGD,
//                 data on the device: what TorchSharp itself reaches
//   train-mlnet   the ML.NET trainer over LoadFromEnumerable rows of pixels and key labels
//   score         BnInceptionScorer, --precision float32 or bfloat16, --data host or device
//   check         a few training steps and a scoring pass on --device against the same on the CPU;
//                 exit code 4 when they disagree
// Every mode takes --device (default cuda), --batch, --side, --classes, --warmup (steps),
// --iterations (timed runs), --steps-per-run. A failure still prints a line, with "error", and
// exits with 3.

BenchmarkSettings settings;
try
{
    settings = BenchmarkSettings.Parse(args);
}
catch (ArgumentException error)
{
    Console.Error.WriteLine(error.Message);
    return 2;
}

Dictionary<string, object?> result;
try
{
    TorchRuntime.EnsureLoaded();
    result = settings.Mode switch
    {
        "train-engine" => TrainingBenchmarks.Engine(settings),
        "train-loop" => TrainingBenchmarks.Loop(settings),
        "train-mlnet" => TrainingBenchmarks.Mlnet(settings),
        "score" => ScoringBenchmark.Run(settings),
        _ => DeviceCheck.Run(settings),
    };
}
catch (Exception error) when (error is not OutOfMemoryException)
{
    // The line says what was asked and why it failed, so that the report shows the failure in its row.
    Dictionary<string, object?> failed = settings.Describe();
    failed["error"] = $"{error.GetType().Name}: {error.Message}";
    Console.WriteLine(JsonSerializer.Serialize(failed));
    Console.Error.WriteLine(error);
    return 3;
}

Console.WriteLine(JsonSerializer.Serialize(result));
return result.GetValueOrDefault("passed") is false ? 4 : 0;
