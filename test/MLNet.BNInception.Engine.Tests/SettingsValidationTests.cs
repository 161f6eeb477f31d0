using System.Globalization;
using MLNet.BNInception.Engine.Distributed;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// Every numeric setting of a run refuses NaN, infinities and values out of its range before
/// training starts, naming the setting. A comparison with NaN is false, so a check written as
/// "refuse when below the bound" lets NaN through: a NaN learning rate used to train until the
/// divergence check stopped it with advice to lower the rate, and a NaN BN momentum saved a model
/// that scored NaN.
/// </summary>
public class SettingsValidationTests
{
    private static readonly TrainerOptions Defaults = new();

    private static IEnumerable<TestCaseData> BadTrainerSettings()
    {
        TestCaseData Case(string setting, TrainerOptions options, string name) => new TestCaseData(options, setting).SetName($"{{m}}({name})");

        foreach (double value in new[] { double.NaN, double.PositiveInfinity, 0, -0.1 })
        {
            yield return Case("LearningRate", Defaults with { LearningRate = value }, $"LearningRate {value}");
        }

        foreach (double value in new[] { double.NaN, 1, 1.5, -0.1 })
        {
            yield return Case("Momentum", Defaults with { Momentum = value }, $"Momentum {value}");
        }

        foreach (double value in new[] { double.NaN, double.PositiveInfinity, -1e-5 })
        {
            yield return Case("WeightDecay", Defaults with { WeightDecay = value }, $"WeightDecay {value}");
        }

        foreach (double value in new[] { double.NaN, 1, -0.1 })
        {
            yield return Case("LabelSmoothing", Defaults with { LabelSmoothing = value }, $"LabelSmoothing {value}");
            yield return Case("ValidationFraction", Defaults with { ValidationFraction = value }, $"ValidationFraction {value}");
        }

        foreach (double value in new[] { double.NaN, double.PositiveInfinity, -1 })
        {
            yield return Case("WarmupEpochs", Defaults with { Schedule = new ConstantSchedule { WarmupEpochs = value } }, $"WarmupEpochs {value}");
        }

        foreach (double value in new[] { double.NaN, double.PositiveInfinity, 0, -1 })
        {
            yield return Case("Gamma", Defaults with { Schedule = new ExponentialSchedule(value) }, $"exponential Gamma {value}");
            yield return Case("Gamma", Defaults with { Schedule = new StepSchedule(2, value) }, $"step Gamma {value}");
        }

        foreach (double value in new[] { double.NaN, double.PositiveInfinity, 0, -2 })
        {
            yield return Case("EveryEpochs", Defaults with { Schedule = new ExponentialSchedule(0.9, value) }, $"EveryEpochs {value}");
        }

        yield return Case("StepEpochs", Defaults with { Schedule = new StepSchedule(0) }, "StepEpochs 0");
        yield return Case("StepEpochs", Defaults with { Schedule = new StepSchedule(-2) }, "StepEpochs -2");
        foreach (double value in new[] { double.NaN, -3, 1.5 })
        {
            yield return Case("MinimumFactor", Defaults with { Schedule = new CosineSchedule(value) }, $"MinimumFactor {value}");
        }

        yield return Case("CropScale", Defaults with { Augmentation = new AugmentationOptions { CropScale = (double.NaN, 1) } }, "CropScale NaN,1");
        yield return Case("CropScale", Defaults with { Augmentation = new AugmentationOptions { CropScale = (0.08, double.NaN) } }, "CropScale 0.08,NaN");
        yield return Case("CropAspectRatio", Defaults with { Augmentation = new AugmentationOptions { CropAspectRatio = (1, double.PositiveInfinity) } },
            "CropAspectRatio 1,Infinity");
        yield return Case("CropAspectRatio", Defaults with { Augmentation = new AugmentationOptions { CropAspectRatio = (double.NaN, 1) } }, "CropAspectRatio NaN,1");
        yield return Case("MinDelta", Defaults with { EarlyStopping = new EarlyStoppingOptions { MinDelta = double.NaN } }, "MinDelta NaN");
    }

    [TestCaseSource(nameof(BadTrainerSettings))]
    public void ATrainerSettingOutOfRangeIsRefusedByName(TrainerOptions options, string setting)
    {
        var error = Assert.Throws<ArgumentException>(options.Validate)!;
        Assert.That(error.Message, Does.Contain(setting));
    }

    private static IEnumerable<TestCaseData> BadNetworkSettings()
    {
        var defaults = new BnInceptionOptions();
        yield return new TestCaseData(defaults with { Dropout = double.NaN }, "Dropout").SetName("{m}(Dropout NaN)");
        yield return new TestCaseData(defaults with { Dropout = 1 }, "Dropout").SetName("{m}(Dropout 1)");
        yield return new TestCaseData(defaults with { BatchNormMomentum = double.NaN }, "BatchNormMomentum").SetName("{m}(BatchNormMomentum NaN)");
        yield return new TestCaseData(defaults with { BatchNormMomentum = 1.5 }, "BatchNormMomentum").SetName("{m}(BatchNormMomentum 1.5)");
        yield return new TestCaseData(defaults with { BatchNormEpsilon = double.NaN }, "BatchNormEpsilon").SetName("{m}(BatchNormEpsilon NaN)");
        yield return new TestCaseData(defaults with { BatchNormEpsilon = double.PositiveInfinity }, "BatchNormEpsilon").SetName("{m}(BatchNormEpsilon Infinity)");
        // Beyond float32's range: 1e-50 rounds to 0 there and 1e39 to infinity (float32's largest value is about 3.4e38).
        yield return new TestCaseData(defaults with { BatchNormEpsilon = 1e-50 }, "BatchNormEpsilon").SetName("{m}(BatchNormEpsilon 1e-50)");
        yield return new TestCaseData(defaults with { BatchNormEpsilon = 1e39 }, "BatchNormEpsilon").SetName("{m}(BatchNormEpsilon 1e39)");
    }

    [TestCaseSource(nameof(BadNetworkSettings))]
    public void ANetworkSettingOutOfRangeIsRefusedByName(BnInceptionOptions options, string setting)
    {
        var error = Assert.Throws<ArgumentException>(options.Validate)!;
        Assert.That(error.Message, Does.Contain(setting));
    }

    [Test]
    public void EveryPresetAndScheduleAtItsBoundsIsAccepted()
    {
        foreach (TrainingPreset preset in Enum.GetValues<TrainingPreset>())
        {
            Assert.DoesNotThrow(TrainerOptions.For(preset).Validate, preset.ToString());
        }

        Assert.DoesNotThrow((Defaults with { Momentum = 0, WeightDecay = 0, LabelSmoothing = 0.99, Schedule = new ExponentialSchedule(1, 0.01) }).Validate);
        Assert.DoesNotThrow((Defaults with { Schedule = new StepSchedule(1, 1) { WarmupEpochs = 0 } }).Validate);
        Assert.DoesNotThrow((Defaults with { Schedule = new ExponentialSchedule(1.5, PerStep: true) }).Validate, "a rate that grows, as in a learning-rate range test");
        Assert.DoesNotThrow((Defaults with { Schedule = new CosineSchedule(1) { WarmupEpochs = 3.5 } }).Validate);
        Assert.DoesNotThrow((Defaults with { Schedule = new CosineSchedule(0) }).Validate);
        Assert.DoesNotThrow((Defaults with { Augmentation = new AugmentationOptions { CropScale = (1, 1), CropAspectRatio = (1, 1) } }).Validate);
        Assert.DoesNotThrow(new BnInceptionOptions { Dropout = 0.99, BatchNormMomentum = 1 }.Validate);
    }

    // Ranks compare a hash of their settings' text before training (docs/distributed.md): ranks on
    // machines of other cultures, given the same run, must write the same text.
    [Test]
    public void TheSettingsRanksCompareAreWrittenAlikeInEveryCultureWithoutDevicesAndPaths()
    {
        var network = new BnInceptionOptions { NumClasses = 10, Dropout = 0.4 };
        TrainerOptions training = Defaults with { LearningRate = 0.045, Device = "cpu", CheckpointPath = "/machine-a/run.ckpt" };
        CultureInfo before = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("de-DE");
            Assert.That(0.045.ToString(CultureInfo.CurrentCulture), Is.EqualTo("0,045"), "this machine's ICU writes German numbers with a decimal comma");
            (string Network, string Training) german = DataParallel.SettingsCompared(network, training);
            Assert.That(CultureInfo.CurrentCulture.Name, Is.EqualTo("de-DE"), "the caller's culture is given back");

            CultureInfo.CurrentCulture = CultureInfo.GetCultureInfo("en-US");
            (string Network, string Training) american = DataParallel.SettingsCompared(network, training with { Device = "cuda:1", CheckpointPath = "/machine-b/run.ckpt" });

            Assert.That(german, Is.EqualTo(american));
            Assert.That(german.Training, Does.Contain("0.045").And.Not.Contain("0,045").And.Not.Contain("machine-a"));
            Assert.That(german.Network, Does.Contain("0.4").And.Not.Contain("0,4"));
        }
        finally
        {
            CultureInfo.CurrentCulture = before;
        }
    }
}
