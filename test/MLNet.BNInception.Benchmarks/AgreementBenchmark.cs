using System.Diagnostics;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Benchmarks;

/// <summary>
/// bfloat16 scoring against float32 on real images: a model trained as the engine's learning check
/// once was (Fashion-MNIST at 64×64, 384 steps of 32, trained in mixed precision to save time), then both precisions over the
/// 10,000 test images.
/// </summary>
internal static class AgreementBenchmark
{
    public static object Run()
    {
        using DisposeScope scope = NewDisposeScope();
        (Tensor trainImages, Tensor trainLabels) = FashionMnist.LoadTensors(FashionMnist.DefaultFolder, "train", 0, 12288, 64);
        (Tensor testImages, Tensor testLabels) = FashionMnist.LoadTensors(FashionMnist.DefaultFolder, "t10k", 0, 10_000, 64);
        TrainerOptions options = TrainerOptions.PaperBnX30 with
        {
            Epochs = 1, BatchSize = 32, Seed = 1, Schedule = new CosineSchedule(),
            Augmentation = new AugmentationOptions { CropScale = (0.7, 1.0) }, Precision = TrainingPrecision.BFloat16Mixed,
        };
        var clock = Stopwatch.StartNew();
        using TrainingResult result = new BnInceptionTrainer(new BnInceptionOptions { InputSize = 64, InputChannels = 1, NumClasses = 10 }, options)
            .Fit(trainImages, trainLabels);
        double trainingSeconds = clock.Elapsed.TotalSeconds;
        using var float32 = new BnInceptionScorer(result.Model);
        using var bfloat16 = new BnInceptionScorer(result.Model, new ScorerOptions { Precision = ScoringPrecision.BFloat16 });
        Tensor exact = float32.Logits(testImages).argmax(1);
        Tensor approximate = bfloat16.Logits(testImages).argmax(1);
        return new
        {
            engine = "MLNet.BNInception (TorchSharp 0.107, libtorch 2.10)",
            mode = "agreement",
            test_images = 10_000,
            training_seconds = trainingSeconds,
            float32_accuracy = exact.eq(testLabels).sum().item<long>() / 10_000.0,
            bfloat16_accuracy = approximate.eq(testLabels).sum().item<long>() / 10_000.0,
            agreement = exact.eq(approximate).sum().item<long>() / 10_000.0,
        };
    }
}
