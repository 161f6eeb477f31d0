using MLNet.BNInception.Engine;
using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.GpuBenchmark;

/// <summary>
/// The sanity check run before any timing: a few steps of the engine's trainer on --device and on the
/// CPU from the same seed, images and settings, and the scorer's logits on both for the same images.
/// Each side must report every step, and the losses and logits must agree within float rounding
/// (1e-3): a GPU path that computes something else, or a libtorch that cannot see the GPU, stops
/// run-on-device.sh before it spends its time. Two more pairs of runs are compared and recorded but
/// do not stop it, so that a difference there is seen in the log without losing the session's
/// measurements: the same steps augmented on each device (the crop boxes and flips are drawn on the
/// CPU generator, so only the resampling's rounding may differ: expected within 1e-3 too), and in
/// mixed precision (bfloat16 rounds differently in cuDNN and oneDNN, so only the size of the
/// difference is reported). Both sides should compute in float32: run-on-device.sh runs
/// the check with NVIDIA_TF32_OVERRIDE=0, which turns TF32 off in cuDNN and cuBLAS for the process
/// (libtorch lets cuDNN convolutions use TF32 by default, as PyTorch does, which adds rounding of
/// its own of about 1e-3). The variable rather than TorchSharp's <c>backends.cudnn.allow_tf32</c>:
/// that reaches into libtorch's C++ API, whose signature for it changed in recent releases, and the
/// libtorch here is whichever the machine's PyTorch brings.
/// </summary>
internal static class DeviceCheck
{
    private const int Steps = 4;
    private const double Tolerance = 1e-3;

    public static Dictionary<string, object?> Run(BenchmarkSettings settings)
    {
        Device device = TorchRuntime.ResolveDevice(settings.Device);
        var model = new BnInceptionOptions { InputSize = settings.Side, NumClasses = settings.Classes };
        var options = new TrainerOptions { Epochs = 1, BatchSize = settings.Batch, Augmentation = AugmentationOptions.None };
        (Tensor images, Tensor labels) = Machine.RandomImages(settings, (long)Steps * settings.Batch, CPU, "host");
        using (images)
        using (labels)
        using (TrainingResult onCpu = Train(model, options with { Device = "cpu" }, images, labels, out double[] cpuLosses))
        using (TrainingResult onDevice = Train(model, options with { Device = settings.Device }, images, labels, out double[] deviceLosses))
        using (Tensor batch = images.narrow(0, 0, settings.Batch))
        {
            double? lossDifference = LossDifference(cpuLosses, deviceLosses);
            (double? augmentedDifference, string? augmentedError) = Compare(model, options with { Augmentation = new AugmentationOptions() }, settings.Device, images, labels);
            (double? mixedDifference, string? mixedError) = Compare(model, options with { Precision = TrainingPrecision.BFloat16Mixed }, settings.Device, images, labels);
            float[] cpuLogits = Logits(onCpu.Model, batch, new ScorerOptions { Device = "cpu" });
            // In batches of a quarter, so that the page-locked copies, freed as soon as each is
            // queued, are reused while earlier copies may still be in flight.
            float[] deviceLogits = Logits(onCpu.Model, batch, new ScorerOptions { Device = settings.Device, BatchSize = Math.Max(1, settings.Batch / 4) });
            float[] bfloat16Logits = Logits(onCpu.Model, batch, new ScorerOptions { Device = settings.Device, Precision = ScoringPrecision.BFloat16 });
            double scale = Math.Max(1, cpuLogits.Max(Math.Abs));
            double? scoreDifference = LargestDifference(cpuLogits, deviceLogits);
            bool bfloat16Finite = bfloat16Logits.All(float.IsFinite);
            bool passed = lossDifference is <= Tolerance && scoreDifference <= Tolerance * scale && bfloat16Finite;

            Dictionary<string, object?> result = settings.Describe();
            result.Remove("warmup_steps");
            result.Remove("steps_per_run");
            result["steps"] = Steps;
            result["passed"] = passed;
            result["tolerance"] = Tolerance;
            result["cpu_losses"] = cpuLosses;
            result["device_losses"] = deviceLosses;
            result["max_loss_difference"] = lossDifference;
            result["augmented_max_loss_difference"] = augmentedDifference;
            result["augmented_agrees"] = augmentedDifference is <= Tolerance;
            result["augmented_error"] = augmentedError;
            result["mixed_max_loss_difference"] = mixedDifference;
            result["mixed_error"] = mixedError;
            result["max_logit_difference_float32"] = scoreDifference;
            result["max_logit_difference_bfloat16"] = LargestDifference(cpuLogits, bfloat16Logits);
            result["bfloat16_logits_finite"] = bfloat16Finite;
            result["top1_agreement_bfloat16"] = TopOneAgreement(cpuLogits, bfloat16Logits, settings.Classes);
            result["nvidia_tf32_override"] = Environment.GetEnvironmentVariable("NVIDIA_TF32_OVERRIDE");
            result["device_name"] = Machine.DeviceName(device);
            if (device.type == DeviceType.CUDA)
            {
                result["cuda_device_count"] = cuda.device_count();
                result["cudnn_available"] = cuda.is_cudnn_available();
            }

            return result;
        }
    }

    // The largest difference of two runs' losses step by step; null (JSON has no infinity) when
    // either reported another number of steps (a loop that skipped or repeated one) or a loss that
    // is not finite.
    private static double? LossDifference(double[] expected, double[] actual) =>
        expected.Length == Steps && actual.Length == Steps && expected.Concat(actual).All(double.IsFinite)
            ? expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max()
            : null;

    // Null where a value is not finite: JSON has no NaN.
    private static double? LargestDifference(float[] expected, float[] actual) =>
        expected.Concat(actual).All(float.IsFinite) ? expected.Zip(actual, (a, b) => (double)Math.Abs(a - b)).Max() : null;

    // A recorded comparison: its failure is reported, not thrown, so the timing still runs.
    private static (double? Difference, string? Error) Compare(BnInceptionOptions model, TrainerOptions options, string device, Tensor images, Tensor labels)
    {
        try
        {
            using TrainingResult onCpu = Train(model, options with { Device = "cpu" }, images, labels, out double[] cpuLosses);
            using TrainingResult onDevice = Train(model, options with { Device = device }, images, labels, out double[] deviceLosses);
            return (LossDifference(cpuLosses, deviceLosses), null);
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            return (null, $"{error.GetType().Name}: {error.Message}");
        }
    }

    private static TrainingResult Train(BnInceptionOptions model, TrainerOptions options, Tensor images, Tensor labels, out double[] losses)
    {
        var reported = new List<double>();
        TrainingResult result = new BnInceptionTrainer(model, options).Fit(images, labels, onStep: progress => reported.Add(progress.Loss));
        losses = reported.ToArray();
        return result;
    }

    private static float[] Logits(BnInception network, Tensor images, ScorerOptions options)
    {
        using var scorer = new BnInceptionScorer(network, options);
        using Tensor logits = scorer.Logits(images);
        return logits.data<float>().ToArray();
    }

    private static double TopOneAgreement(float[] expected, float[] actual, int classes)
    {
        int rows = expected.Length / classes, agreeing = 0;
        for (int row = 0; row < rows; row++)
        {
            ReadOnlySpan<float> a = expected.AsSpan(row * classes, classes), b = actual.AsSpan(row * classes, classes);
            agreeing += a.IndexOf(MaxOf(a)) == b.IndexOf(MaxOf(b)) ? 1 : 0;
        }

        return (double)agreeing / rows;
    }

    private static float MaxOf(ReadOnlySpan<float> values)
    {
        float max = float.NegativeInfinity;
        foreach (float value in values)
        {
            max = Math.Max(max, value);
        }

        return max;
    }
}
