using MLNet.BNInception.Engine;
using MLNet.BNInception.Experiments.Figure1;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Experiments.Tests;

/// <summary>
/// The network and settings of the paper's Figure 1 (docs/paper.md §4), the values written here
/// from the paper: 784 inputs, three fully connected hidden layers of 100 sigmoid units and a
/// 10-way output; with BN, BN on each hidden layer's linear output before its sigmoid, and no bias
/// in those layers (docs/paper.md §1: β takes its place); mini-batches of 60; 50,000 steps; the
/// 15th, 50th and 85th percentiles followed. The paper's "small random Gaussian" initial weights are
/// N(0, 0.01²) here (docs/experiments.md). The forward pass is checked against the same arithmetic
/// written out with tensors.
/// </summary>
public class SigmoidNetworkTests
{
    [Test]
    public void TheSettingsAreThePapers()
    {
        var settings = new Figure1Settings();
        Assert.That((settings.BatchSize, settings.Steps, settings.InitStd), Is.EqualTo((60, 50_000, 0.01)));
        Assert.That(Figure1Experiment.Quantiles, Is.EqualTo(new[] { 0.15, 0.50, 0.85 }));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void ThreeHiddenLayersOf100AndTenOutputsWithBiasesOnlyWhereThereIsNoBN(bool batchNorm)
    {
        TorchRuntime.EnsureLoaded();
        using var network = new SigmoidNetwork(batchNorm, initStd: 0.01, seed: 1);
        using DisposeScope scope = NewDisposeScope();
        var shapes = network.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);

        var expected = new Dictionary<string, long[]>
        {
            ["hidden1.weight"] = [100, 784], ["hidden2.weight"] = [100, 100], ["hidden3.weight"] = [100, 100],
            ["classifier.weight"] = [10, 100], ["classifier.bias"] = [10],
        };
        for (int layer = 1; layer <= 3; layer++)
        {
            if (batchNorm)
            {
                expected[$"bn{layer}.weight"] = [100];
                expected[$"bn{layer}.bias"] = [100];
            }
            else
            {
                expected[$"hidden{layer}.bias"] = [100];
            }
        }

        Assert.That(shapes, Is.EquivalentTo(expected));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void TheForwardPassIsLinearThenBNThenSigmoidInEachHiddenLayer(bool batchNorm)
    {
        TorchRuntime.EnsureLoaded();
        using DisposeScope scope = NewDisposeScope();
        using var network = new SigmoidNetwork(batchNorm, initStd: 0.5, seed: 3);
        network.train();
        var p = network.named_parameters().ToDictionary(x => x.name, x => x.parameter.detach());
        using var generator = new Generator(7);
        Tensor images = rand([60, 784], generator: generator);
        // Held to the end rather than made implicitly (dotnet/TorchSharp#1434).
        using Scalar one = 1.ToScalar();

        Tensor logits = network.Run(images, out Tensor lastSigmoidInput);

        // The same arithmetic by hand: BN in training normalises with the batch's mean and biased variance (ε 1e-5).
        Tensor x = images, preActivation = images;
        for (int layer = 1; layer <= 3; layer++)
        {
            preActivation = x.matmul(p[$"hidden{layer}.weight"].t());
            if (batchNorm)
            {
                Tensor centred = preActivation.sub(preActivation.mean([0], keepdim: true));
                Tensor variance = centred.mul(centred).mean([0], keepdim: true);
                preActivation = centred.div(variance.add(tensor(1e-5f), one).sqrt()).mul(p[$"bn{layer}.weight"]).add(p[$"bn{layer}.bias"], one);
            }
            else
            {
                preActivation = preActivation.add(p[$"hidden{layer}.bias"], one);
            }

            x = preActivation.sigmoid();
        }

        Tensor expected = x.matmul(p["classifier.weight"].t()).add(p["classifier.bias"], one);
        Assert.That(logits.shape, Is.EqualTo(new long[] { 60, 10 }));
        Assert.That(logits.sub(expected).abs().max().item<float>(), Is.LessThan(1e-4f), "logits");
        Assert.That(lastSigmoidInput.sub(preActivation).abs().max().item<float>(), Is.LessThan(1e-4f), "the last sigmoid's input");
    }

    [Test]
    public void WeightsStartFromTheSameZeroMeanGaussianWithAndWithoutBNAndBiasesAtZero()
    {
        TorchRuntime.EnsureLoaded();
        using DisposeScope scope = NewDisposeScope();
        using var plain = new SigmoidNetwork(batchNorm: false, initStd: 0.01, seed: 1);
        using var normalised = new SigmoidNetwork(batchNorm: true, initStd: 0.01, seed: 1);
        var plainParameters = plain.named_parameters().ToDictionary(x => x.name, x => x.parameter.detach());
        var normalisedParameters = normalised.named_parameters().ToDictionary(x => x.name, x => x.parameter.detach());
        string[] weights = ["hidden1.weight", "hidden2.weight", "hidden3.weight", "classifier.weight"];

        foreach (string name in weights)
        {
            Assert.That(plainParameters[name].eq(normalisedParameters[name]).all().item<bool>(), Is.True, $"{name}: the same draws with and without BN");
            // Each layer's own: a layer left at TorchSharp's default (uniform, std 0.02 to 0.1) is outside 10%.
            Assert.That(plainParameters[name].std().item<float>(), Is.EqualTo(0.01).Within(10).Percent, name);
        }

        foreach (string name in plainParameters.Keys.Where(name => name.EndsWith(".bias", StringComparison.Ordinal)))
        {
            Assert.That(plainParameters[name].abs().max().item<float>(), Is.Zero, name);
        }

        // All 99,400 weights together: a normal distribution's mean, spread and share within one σ
        // (68.3%; a uniform one of the same σ has 57.7%), each bound many standard errors wide.
        Tensor all = cat(weights.Select(name => plainParameters[name].flatten()).ToArray());
        Assert.That(all.mean().item<float>(), Is.EqualTo(0).Within(2e-4), "mean");
        Assert.That(all.std().item<float>(), Is.EqualTo(0.01).Within(2).Percent, "standard deviation");
        double withinOneSigma = all.abs().lt(tensor(0.01f)).sum().item<long>() / (double)all.numel();
        Assert.That(withinOneSigma, Is.EqualTo(0.683).Within(0.01), "share within one σ");
    }
}
