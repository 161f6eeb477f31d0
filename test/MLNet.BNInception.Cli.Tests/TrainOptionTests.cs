using System.CommandLine;
using System.Globalization;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Cli.Tests;

/// <summary><c>train</c>'s options default to the engine's settings and name its presets and choices as users type them.</summary>
public class TrainOptionTests
{
    [Test]
    public void WhatTheOptionsDefaultToIsTheEnginesDefault()
    {
        Command train = TrainCommand.Create(new CommandContext(TextWriter.Null, TextWriter.Null, () => CancellationToken.None, ProgressOnTerminal: false));
        ParseResult parsed = train.Parse(["--train", "train.csv", "--out", "model.zip"]);
        Assert.That(parsed.Errors, Is.Empty);
        T Value<T>(string option) => parsed.GetValue<T>(option)!;
        (double, double) Range(string option) =>
            Value<string>(option).Split(',') is [string min, string max] ? (double.Parse(min, CultureInfo.InvariantCulture), double.Parse(max, CultureInfo.InvariantCulture)) : default;

        var training = new TrainerOptions();
        var network = new BnInceptionOptions();
        Assert.That(OptionValues.Parse<TrainingPreset>(Value<string>("--preset")), Is.EqualTo(TrainerOptions.DefaultPreset));
        Assert.That(Value<int>("--size"), Is.EqualTo(network.InputSize));
        Assert.That(Value<int>("--epochs"), Is.EqualTo(training.Epochs));
        Assert.That(Value<int>("--batch"), Is.EqualTo(training.BatchSize));
        Assert.That(Value<string>("--schedule"), Is.EqualTo("exponential"), "the engine's ExponentialSchedule");
        Assert.That(training.Schedule, Is.TypeOf<ExponentialSchedule>());
        Assert.That(Value<double>("--warmup-epochs"), Is.EqualTo(training.Schedule.WarmupEpochs));
        Assert.That(Value<double>("--min-lr-factor"), Is.EqualTo(new CosineSchedule().MinimumFactor));
        Assert.That(Value<double>("--label-smoothing"), Is.EqualTo(training.LabelSmoothing));
        Assert.That(Range("--crop-scale"), Is.EqualTo(training.Augmentation.CropScale));
        Assert.That(Range("--crop-ratio"), Is.EqualTo(training.Augmentation.CropAspectRatio), "4/3 to the last bit");
        Assert.That(Value<ulong>("--seed"), Is.EqualTo(training.Seed));
        Assert.That(Value<double>("--early-stopping-min-delta"), Is.EqualTo(new EarlyStoppingOptions().MinDelta));
        Assert.That(OptionValues.Parse<TrainingPrecision>(Value<string>("--precision")), Is.EqualTo(training.Precision));
        Assert.That(Value<double>("--dropout"), Is.EqualTo(network.Dropout));
        Assert.That(OptionValues.Parse<Activation>(Value<string>("--activation")), Is.EqualTo(network.Activation));
        Assert.That(Value<double>("--bn-epsilon"), Is.EqualTo(network.BatchNormEpsilon));
        Assert.That(Value<double>("--bn-momentum"), Is.EqualTo(network.BatchNormMomentum));
    }

    [Test]
    public void ChoicesAreTheEnginesNamesAsUsersTypeThem()
    {
        Assert.That(OptionValues.Spellings<TrainingPreset>(), Is.EqualTo(new[] { "bn-x5", "bn-x30" }));
        Assert.That(OptionValues.Spellings<TrainingPrecision>(), Is.EqualTo(new[] { "float32", "bfloat16-mixed" }));
        Assert.That(OptionValues.Spellings<Activation>(), Is.EqualTo(new[] { "relu", "sigmoid" }));
        Assert.That(Enum.GetValues<TrainingPreset>().Select(preset => OptionValues.Parse<TrainingPreset>(OptionValues.Spelling(preset))),
            Is.EqualTo(Enum.GetValues<TrainingPreset>()));
        Assert.That(OptionValues.Parse<TrainingPrecision>("bfloat16-mixed"), Is.EqualTo(TrainingPrecision.BFloat16Mixed));
    }
}
