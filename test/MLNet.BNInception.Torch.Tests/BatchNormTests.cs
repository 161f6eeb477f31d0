using MLNet.BNInception.Torch.Modules;
using F = MLNet.BNInception.Torch.torch.nn.functional;

namespace MLNet.BNInception.Torch.Tests;

/// <summary>batch_norm and BatchNorm2d against the transform of SPEC.md section 1, computed by hand.</summary>
public class BatchNormTests
{
    [SetUp]
    public void Seed() => torch.manual_seed(7);

    [Test]
    public void TrainingNormalisesEachChannelOverBatchAndSpace()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        // Channels with very different means and scales, so an unnormalised output could not pass.
        Tensor shift = torch.tensor(new double[] { -5, 0, 40 }, 1, 3, 1, 1);
        Tensor scale = torch.tensor(new double[] { 0.1, 1, 30 }, 1, 3, 1, 1);
        Tensor x = torch.randn([8, 3, 5, 5], ScalarType.Float64) * scale + shift;

        Tensor y = F.batch_norm(x, null, null, training: true, eps: 1e-5);

        double[] mean = y.mean([0, 2, 3]).ToArray<double>();
        double[] variance = y.var([0, 2, 3], unbiased: false).ToArray<double>();
        double[] inputVariance = x.var([0, 2, 3], unbiased: false).ToArray<double>();
        Assert.That(mean, Is.All.EqualTo(0).Within(1e-12));
        for (int c = 0; c < 3; c++)
        {
            // With eps in the denominator the output variance is exactly v / (v + eps).
            Assert.That(variance[c], Is.EqualTo(inputVariance[c] / (inputVariance[c] + 1e-5)).Within(1e-12), $"channel {c}");
        }
    }

    [Test]
    public void HandComputedSmallCaseInTrainingAndEval()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        using var bn = new BatchNorm2d(1, eps: 0, momentum: 0.1);
        bn.weight!.detach().fill_(2);
        bn.bias!.detach().fill_(0.5);
        // One channel, m = N·H·W = 4 values: 1, 2, 3, 6. Mean 3, biased variance 14/4 = 3.5,
        // unbiased 14/3.
        Tensor x = torch.tensor(new float[] { 1, 2, 3, 6 }, 2, 1, 1, 2);

        float[] y = bn.call(x).ToArray<float>();
        double sd = Math.Sqrt(3.5);
        Assert.That(y, Is.EqualTo(new[] { 2 * (-2 / sd) + 0.5, 2 * (-1 / sd) + 0.5, 0.5, 2 * (3 / sd) + 0.5 }).Within(1e-5));

        // Running statistics: (1 - 0.1)·initial + 0.1·batch, the batch variance unbiased.
        Assert.That(bn.running_mean!.item<float>(), Is.EqualTo(0.9 * 0 + 0.1 * 3).Within(1e-6));
        Assert.That(bn.running_var!.item<float>(), Is.EqualTo(0.9 * 1 + 0.1 * (14.0 / 3)).Within(1e-6));
        Assert.That(bn.num_batches_tracked!.item<long>(), Is.EqualTo(1));

        bn.eval();
        float[] evalOutput = bn.call(x).ToArray<float>();
        double runningMean = 0.3, runningSd = Math.Sqrt(0.9 + 0.1 * 14.0 / 3);
        Assert.That(evalOutput, Is.EqualTo(new[] { 1.0, 2, 3, 6 }.Select(v => 2 * (v - runningMean) / runningSd + 0.5)).Within(1e-5));
        Assert.That(bn.num_batches_tracked!.item<long>(), Is.EqualTo(1), "eval must not count batches");
        Assert.That(bn.running_mean!.item<float>(), Is.EqualTo(0.3).Within(1e-6), "eval must not update statistics");
    }

    [Test]
    public void RunningStatisticsFollowTheMomentumOverSeveralBatches()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        using var bn = new BatchNorm2d(2, momentum: 0.25);
        double[] expectedMean = [0, 0], expectedVar = [1, 1];
        for (int step = 0; step < 4; step++)
        {
            Tensor x = torch.randn([4, 2, 3, 3], ScalarType.Float32) * (step + 1) + step;
            bn.call(x);
            double[] batchMean = x.to(ScalarType.Float64).mean([0, 2, 3]).ToArray<double>();
            double[] batchVar = x.to(ScalarType.Float64).var([0, 2, 3], unbiased: true).ToArray<double>();
            for (int c = 0; c < 2; c++)
            {
                expectedMean[c] = 0.75 * expectedMean[c] + 0.25 * batchMean[c];
                expectedVar[c] = 0.75 * expectedVar[c] + 0.25 * batchVar[c];
            }
        }

        Assert.That(bn.running_mean!.ToArray<float>(), Is.EqualTo(expectedMean).Within(1e-5));
        Assert.That(bn.running_var!.ToArray<float>(), Is.EqualTo(expectedVar).Within(1e-4));
    }

    [Test]
    public void NullMomentumKeepsTheCumulativeAverage()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        using var bn = new BatchNorm2d(1, momentum: null);
        var means = new List<double>();
        for (int step = 0; step < 3; step++)
        {
            Tensor x = torch.randn([6, 1, 2, 2]) + 3 * step;
            bn.call(x);
            means.Add(x.to(ScalarType.Float64).mean().item<double>());
        }

        Assert.That(bn.running_mean!.item<float>(), Is.EqualTo(means.Average()).Within(1e-5));
    }

    [Test]
    public void OneValuePerChannelInTrainingIsAClearError()
    {
        using var bn = new BatchNorm2d(3);
        using Tensor single = torch.randn([1, 3, 1, 1]);
        var error = Assert.Throws<ArgumentException>(() => bn.call(single).Dispose());
        Assert.That(error!.Message, Does.Contain("more than one value per channel"));
        bn.eval();
        using Tensor output = bn.call(single);
        Assert.That(output.shape, Is.EqualTo(new long[] { 1, 3, 1, 1 }));
    }
}
