using MLNet.BNInception.DemoData;
using MLNet.BNInception.Engine.Inference;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// BN-Inception learns real images: Debian's Fashion-MNIST upscaled to 64×64, a fixed budget of 64
/// steps (about 45 s on one core). The trained model also settles whether bfloat16 scoring may be
/// offered (its top-1 predictions must agree with float32's on 99% of 1,000 test images), and the
/// same budget trained in mixed precision must match float32's loss curve and accuracy. The
/// walk-through's test trains about as many steps (89) through ML.NET, and the demo six times as
/// many, to the README's accuracy; here the loss still falls from 2.3 to about 1.0, far more than
/// rounding moves it. The assertions are on accuracy, agreement and loss, not time.
/// </summary>
[Trains]
public sealed class FashionMnistLearningTests
{
    private const int TrainImages = 2048;  // 64 steps of 32
    private const int TestImages = 1_000;
    private const int LossWindow = 16;     // steps averaged per point of the loss curve

    private Tensor _trainImages = null!, _trainLabels = null!, _testImages = null!, _testLabels = null!;
    private Trained _float32 = null!;
    private Tensor _float32Predictions = null!;  // the float32 network's top class of each test image: both tests compare with it

    [OneTimeSetUp]
    public void TrainInFloat32()
    {
        (_trainImages, _trainLabels) = FashionMnist.LoadTensors(FashionMnist.DefaultFolder, "train", 0, TrainImages, 64);
        (_testImages, _testLabels) = FashionMnist.LoadTensors(FashionMnist.DefaultFolder, "t10k", 0, TestImages, 64);
        _trainImages.DetachFromDisposeScope();
        _trainLabels.DetachFromDisposeScope();
        _testImages.DetachFromDisposeScope();
        _testLabels.DetachFromDisposeScope();
        _float32 = Train(TrainingPrecision.Float32);
        _float32Predictions = Predictions(_float32.Result.Model, ScoringPrecision.Float32);
    }

    [OneTimeTearDown]
    public void Release()
    {
        _float32?.Result.Dispose();
        _float32Predictions?.Dispose();
        foreach (Tensor? tensor in new[] { _trainImages, _trainLabels, _testImages, _testLabels })
        {
            tensor?.Dispose();
        }
    }

    [Test]
    public void ReachesFiftyEightPercentTestAccuracyWithinTheStepBudgetAndBFloat16AgreesWithFloat32()
    {
        using DisposeScope scope = NewDisposeScope();
        Tensor exact = _float32Predictions;
        using Tensor approximate = Predictions(_float32.Result.Model, ScoringPrecision.BFloat16);
        double accuracy = Accuracy(exact);
        double agreement = exact.eq(approximate).sum().item<long>() / (double)TestImages;
        double bfloat16Accuracy = Accuracy(approximate);
        TestContext.Out.WriteLine(
            $"{TrainImages / 32} steps; test accuracy {accuracy:P2} (float32), {bfloat16Accuracy:P2} (bfloat16); " +
            $"bfloat16 agrees with float32 on {agreement:P2} of {TestImages}");
        Assert.That(accuracy, Is.GreaterThanOrEqualTo(0.58), "seen without AVX-512: 65.0% on one thread, 65.3% on two");
        Assert.That(agreement, Is.GreaterThanOrEqualTo(0.99), "seen without AVX-512: 99.5% on one thread, 99.7% on two");
    }

    /// <summary>
    /// Mixed precision on the same steps and seeds: test accuracy within 5 percentage points of float32's,
    /// and the loss curve (the mean of every 16 steps' losses, 4 points from about 2.3 down to 1.0)
    /// within 0.15 of float32's at the last point and within 0.4 at every point. They catch a network that
    /// stalls in bfloat16 (its loss stays near 2.3) or ends far less accurate; a moderately slower one
    /// (ending at 1.12 against 1.0) passes. The bounds come from how far rounding alone moves this short,
    /// steep run, and the order of a sum alone moves it far. Seen on a processor without AVX-512
    /// (2026-12-06), where mixed precision widens its convolutions to float32: mixed against float32 was
    /// 0.017, 0.075, 0.080 and 0.083 apart on one libtorch thread (accuracy 0.3 points below), and 0.049,
    /// 0.156, 0.108 and 0.039 on two (2.5 points below). Over 96 steps (the budget until then) with
    /// AVX-512 the worst point was 0.088 apart and the last 0.037; without, the first point was 0.298
    /// apart on one thread. So 0.15 is a margin over the 0.108 seen at a late point, and 0.4 over the
    /// 0.298 at an early one.
    /// </summary>
    [Test]
    public void MixedPrecisionMatchesFloat32AccuracyAndLossCurve()
    {
        Trained mixed = Train(TrainingPrecision.BFloat16Mixed);
        using TrainingResult result = mixed.Result;
        Assert.That(result.Model.ComputesInBFloat16, Is.False, "the trained network is handed back as a plain float32 network");
        Assert.That(result.Model.parameters().All(p => p.dtype == ScalarType.Float32), Is.True);

        double float32Accuracy = Accuracy(_float32Predictions);
        double mixedAccuracy;
        using (Tensor mixedPredictions = Predictions(result.Model, ScoringPrecision.Float32))
        {
            mixedAccuracy = Accuracy(mixedPredictions);
        }
        double[] float32Curve = Curve(_float32.Losses);
        double[] mixedCurve = Curve(mixed.Losses);
        double worst = float32Curve.Zip(mixedCurve, (a, b) => Math.Abs(a - b)).Max();
        TestContext.Out.WriteLine(
            $"test accuracy {float32Accuracy:P2} float32, {mixedAccuracy:P2} mixed; " +
            $"loss curves (means of {LossWindow} steps) float32 [{string.Join(", ", float32Curve.Select(x => x.ToString("F3")))}], " +
            $"mixed [{string.Join(", ", mixedCurve.Select(x => x.ToString("F3")))}], largest gap {worst:F3}");
        Assert.That(Math.Abs(mixedAccuracy - float32Accuracy), Is.LessThanOrEqualTo(0.05));
        Assert.That(Math.Abs(mixedCurve[^1] - float32Curve[^1]), Is.LessThanOrEqualTo(0.15));
        Assert.That(worst, Is.LessThanOrEqualTo(0.4));
    }

    private Trained Train(TrainingPrecision precision)
    {
        var model = new BnInceptionOptions { InputSize = 64, InputChannels = 1, NumClasses = 10 };
        TrainerOptions options = TrainerOptions.PaperBnX30 with
        {
            Epochs = 1,
            BatchSize = 32,
            Seed = 1,
            // One short epoch: the paper's slow exponential decay would barely move, so the rate
            // anneals over the budget instead, which is what a fixed budget calls for.
            Schedule = new CosineSchedule(),
            // The images are centred and small: a gentle crop keeps what there is to see.
            Augmentation = new AugmentationOptions { CropScale = (0.7, 1.0) },
            Precision = precision,
        };

        var losses = new List<double>();
        TrainingResult result = new BnInceptionTrainer(model, options).Fit(_trainImages, _trainLabels, onStep: step => losses.Add(step.Loss));
        return new Trained(result, losses.ToArray());
    }

    /// <summary>The top class of each test image, a tensor that outlives the scopes around the call.</summary>
    private Tensor Predictions(BnInception model, ScoringPrecision precision)
    {
        using DisposeScope scope = NewDisposeScope();
        using var scorer = new BnInceptionScorer(model, new ScorerOptions { Precision = precision });
        return scorer.Logits(_testImages).argmax(1).DetachFromDisposeScope();
    }

    private double Accuracy(Tensor predictions)
    {
        using DisposeScope scope = NewDisposeScope();
        return predictions.eq(_testLabels).sum().item<long>() / (double)TestImages;
    }

    private static double[] Curve(double[] losses) => losses.Chunk(LossWindow).Select(window => window.Average()).ToArray();

    private sealed record Trained(TrainingResult Result, double[] Losses);
}
