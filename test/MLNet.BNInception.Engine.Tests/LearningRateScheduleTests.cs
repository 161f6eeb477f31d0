using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Tests;

public class LearningRateScheduleTests
{
    [Test]
    public void ExponentialDecaysAtPeriodBoundariesOrEveryStep()
    {
        var stepped = new ExponentialSchedule(0.5, EveryEpochs: 2);
        Assert.That(stepped.Factor(0, 10), Is.EqualTo(1));
        Assert.That(stepped.Factor(1.9, 10), Is.EqualTo(1));
        Assert.That(stepped.Factor(2, 10), Is.EqualTo(0.5));
        Assert.That(stepped.Factor(5, 10), Is.EqualTo(0.25));
        var smooth = new ExponentialSchedule(0.5, EveryEpochs: 2, PerStep: true);
        Assert.That(smooth.Factor(1, 10), Is.EqualTo(Math.Sqrt(0.5)).Within(1e-12));
    }

    [Test]
    public void StepAndCosine()
    {
        Assert.That(new StepSchedule(3, 0.1).Factor(6.5, 10), Is.EqualTo(0.01).Within(1e-15));
        var cosine = new CosineSchedule(MinimumFactor: 0.1);
        Assert.That(cosine.Factor(0, 10), Is.EqualTo(1));
        Assert.That(cosine.Factor(5, 10), Is.EqualTo(0.55).Within(1e-12));
        Assert.That(cosine.Factor(10, 10), Is.EqualTo(0.1).Within(1e-12));
    }

    [Test]
    public void WarmupRisesLinearlyThenHandsOver()
    {
        var schedule = new ConstantSchedule { WarmupEpochs = 2 };
        Assert.That(schedule.Factor(0.5, 10), Is.EqualTo(0.25));
        Assert.That(schedule.Factor(1.5, 10), Is.EqualTo(0.75));
        Assert.That(schedule.Factor(2, 10), Is.EqualTo(1));
    }

    [Test]
    public void PaperPresetsFollowSpecSection3()
    {
        Assert.That(TrainerOptions.PaperBnX5.LearningRate, Is.EqualTo(0.0075).Within(1e-15));
        Assert.That(TrainerOptions.PaperBnX30.LearningRate, Is.EqualTo(0.045).Within(1e-15));
        Assert.That(TrainerOptions.PaperBnX30.WeightDecay, Is.EqualTo(TrainerOptions.InceptionWeightDecay / 5));
        // Decay 6× faster than the baseline's 4% per 8 epochs: after 8 epochs, 0.96^6.
        Assert.That(TrainerOptions.PaperBnX30.Schedule.Factor(8, 100), Is.EqualTo(Math.Pow(0.96, 6)).Within(1e-12));
    }

    [Test]
    public void EachPresetNameGivesItsRecipeAndTheDefaultsAreTheDefaultPresets()
    {
        Assert.That(TrainerOptions.For(TrainingPreset.BnX5), Is.SameAs(TrainerOptions.PaperBnX5));
        Assert.That(TrainerOptions.For(TrainingPreset.BnX30), Is.SameAs(TrainerOptions.PaperBnX30));
        Assert.That(TrainerOptions.For(TrainerOptions.DefaultPreset), Is.EqualTo(new TrainerOptions()), "new TrainerOptions() is the default preset, setting for setting");
        Assert.That(TrainerOptions.For(TrainingPreset.BnX5), Is.Not.EqualTo(new TrainerOptions()));
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => TrainerOptions.For((TrainingPreset)7));
        Assert.That(error!.Message, Does.Contain("Choose one of BnX5, BnX30"));
    }
}
