using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Experiments.Figure3;

namespace MLNet.BNInception.Experiments.Tests;

/// <summary>
/// The five networks of the paper's Figure 3 and what each changes, checked setting by setting
/// against the paper as docs/paper.md §3 and §4 restate it, the values written here rather than read
/// from our code: the baseline's learning rate 0.0015, BN-x5's 5× (0.0075) and BN-x30's 30× (0.045);
/// no dropout with the paper's changes for BN; L2 reduced 5×; the exponential decay 6× faster; the
/// sigmoid only in BN-x5-Sigmoid; BN everywhere but in Inception. The baseline's own dropout (40%),
/// L2 (2e-4) and decay (× 0.96 every 8 epochs) are GoogLeNet's, which docs/paper.md §3 says the
/// paper's Inception follows.
/// </summary>
public class Figure3ConfigurationTests
{
    private static readonly Figure3Settings Settings = new();

    [Test]
    public void TheFiveConfigurationsInThePapersOrder()
    {
        Assert.That(Figure3Experiment.Configurations(Settings).Select(c => c.Name),
            Is.EqualTo(new[] { "Inception", "BN-Baseline", "BN-x5", "BN-x30", "BN-x5-Sigmoid" }));
    }

    [TestCase("Inception", false, Activation.Relu, 0.4, 0.0015, 2e-4, 8.0)]
    [TestCase("BN-Baseline", true, Activation.Relu, 0.4, 0.0015, 2e-4, 8.0)]
    [TestCase("BN-x5", true, Activation.Relu, 0.0, 0.0075, 4e-5, 8.0 / 6)]
    [TestCase("BN-x30", true, Activation.Relu, 0.0, 0.045, 4e-5, 8.0 / 6)]
    [TestCase("BN-x5-Sigmoid", true, Activation.Sigmoid, 0.0, 0.0075, 4e-5, 8.0 / 6)]
    public void EachConfigurationHasThePapersSettings(string name, bool batchNorm, Activation activation, double dropout, double learningRate, double weightDecay,
        double epochsPerDecay)
    {
        Configuration configuration = Figure3Experiment.Configurations(Settings).Single(c => c.Name == name);

        Assert.That(configuration.Architecture.BatchNorm, Is.EqualTo(batchNorm), "BN");
        Assert.That(configuration.Architecture.Activation, Is.EqualTo(activation), "activation");
        Assert.That(configuration.Architecture.Dropout, Is.EqualTo(dropout).Within(1e-12), "dropout");
        Assert.That(configuration.Recipe.LearningRate, Is.EqualTo(learningRate).Within(1e-12), "learning rate");
        Assert.That(configuration.Recipe.WeightDecay, Is.EqualTo(weightDecay).Within(1e-15), "L2 weight decay");
        Assert.That(configuration.Recipe.Schedule, Is.InstanceOf<ExponentialSchedule>(), "exponential decay");
        var schedule = (ExponentialSchedule)configuration.Recipe.Schedule;
        Assert.That(schedule.Gamma, Is.EqualTo(0.96).Within(1e-12), "4% a period");
        Assert.That(schedule.EveryEpochs, Is.EqualTo(epochsPerDecay).Within(1e-12), "the period, in epochs");
    }

    // What the paper does not vary between the five is the same for all: the comparison is of the
    // settings above alone.
    [Test]
    public void TheFiveTrainAlikeInEverythingElse()
    {
        IReadOnlyList<Configuration> configurations = Figure3Experiment.Configurations(Settings);
        foreach (Configuration configuration in configurations)
        {
            TrainerOptions recipe = configuration.Recipe;
            Assert.That(recipe.Momentum, Is.GreaterThan(0), $"{configuration.Name}: SGD with momentum");
            Assert.That((recipe.Epochs, recipe.BatchSize, recipe.Seed, recipe.Momentum, recipe.Augmentation, recipe.Precision, recipe.LabelSmoothing),
                Is.EqualTo((Settings.Epochs, Settings.BatchSize, Settings.Seed, configurations[0].Recipe.Momentum, configurations[0].Recipe.Augmentation,
                    configurations[0].Recipe.Precision, 0.0)), configuration.Name);
            Assert.That(configuration.Architecture with { BatchNorm = true, Activation = Activation.Relu, Dropout = 0 },
                Is.EqualTo(new BnInceptionOptions { InputSize = 64, InputChannels = 1, NumClasses = 10 }), $"{configuration.Name}: the same network otherwise");
        }
    }
}
