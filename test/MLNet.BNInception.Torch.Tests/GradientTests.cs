using F = MLNet.BNInception.Torch.torch.nn.functional;

namespace MLNet.BNInception.Torch.Tests;

/// <summary>Every differentiable op's gradient agrees with central finite differences in float64.</summary>
public class GradientTests
{
    private static Tensor Randn(params long[] shape) => torch.randn(shape, ScalarType.Float64);

    private static void Check(Func<Tensor[], Tensor> function, params Tensor[] inputs)
    {
        try
        {
            GradientChecker.AssertMatchesFiniteDifferences(function, inputs);
        }
        finally
        {
            foreach (Tensor input in inputs)
            {
                input.Dispose();
            }
        }
    }

    [SetUp]
    public void Seed() => torch.manual_seed(20150211);

    [Test]
    public void Conv2dWithStridePaddingAndBias() =>
        Check(x => F.conv2d(x[0], x[1], x[2], stride: [2], padding: [1]), Randn(2, 3, 7, 7), Randn(4, 3, 3, 3), Randn(4));

    [Test]
    public void Conv2dWithDilationAndGroups() =>
        Check(x => F.conv2d(x[0], x[1], stride: [1, 2], padding: [2, 1], dilation: [2], groups: 2), Randn(2, 4, 6, 6), Randn(6, 2, 3, 3));

    [Test]
    public void BatchNormTrainingFlowsThroughBatchStatistics() =>
        Check(x => F.batch_norm(x[0], null, null, x[1], x[2], training: true), Randn(4, 3, 2, 2), Randn(3), Randn(3));

    [Test]
    public void BatchNormEvalUsesFixedStatistics()
    {
        using Tensor mean = Randn(3);
        using Tensor variance = torch.rand([3], ScalarType.Float64) + 0.5;
        Check(x => F.batch_norm(x[0], mean, variance, x[1], x[2], training: false), Randn(2, 3, 2, 2), Randn(3), Randn(3));
    }

    [Test]
    public void Relu() => Check(x => F.relu(x[0]), Randn(3, 4));

    [Test]
    public void Sigmoid() => Check(x => F.sigmoid(x[0]), Randn(3, 4));

    [Test]
    public void MaxPool2dCeilMode() =>
        Check(x => F.max_pool2d(x[0], [3], stride: [2], ceil_mode: true), Randn(2, 2, 6, 6));

    [TestCase(true)]
    [TestCase(false)]
    public void AvgPool2dWithPadding(bool countIncludePad) =>
        Check(x => F.avg_pool2d(x[0], [3], stride: [1], padding: [1], count_include_pad: countIncludePad), Randn(2, 2, 4, 4));

    [Test]
    public void AvgPool2dCeilMode() => Check(x => F.avg_pool2d(x[0], [3], stride: [2], ceil_mode: true), Randn(1, 2, 6, 6));

    [Test]
    public void AdaptiveAvgPool2dWithUnevenWindows() => Check(x => F.adaptive_avg_pool2d(x[0], [2, 3]), Randn(2, 2, 5, 7));

    [Test]
    public void Cat() => Check(x => torch.cat([x[0], x[1]], dim: 1), Randn(2, 3, 2), Randn(2, 1, 2));

    [Test]
    public void Linear() => Check(x => F.linear(x[0], x[1], x[2]), Randn(3, 5), Randn(4, 5), Randn(4));

    [Test]
    public void ReshapePermuteFlattenContiguous() =>
        Check(x => x[0].permute(0, 2, 1).contiguous().reshape(2, -1).flatten() * x[1].flatten(), Randn(2, 3, 4), Randn(2, 4, 3));

    [Test]
    public void Softmax() => Check(x => F.softmax(x[0], 1), Randn(3, 5));

    [Test]
    public void LogSoftmax() => Check(x => F.log_softmax(x[0], 1), Randn(3, 5));

    [Test]
    public void CrossEntropyWithLabelSmoothing()
    {
        using Tensor target = torch.tensor(new long[] { 0, 3, 1, 3 });
        Check(x => F.cross_entropy(x[0], target, label_smoothing: 0.1), Randn(4, 5));
    }

    [Test]
    public void CrossEntropyWithClassWeights()
    {
        using Tensor target = torch.tensor(new long[] { 2, 0, 1 });
        using Tensor weight = torch.tensor(new double[] { 0.5, 2.0, 1.0 });
        Check(x => F.cross_entropy(x[0], target, weight), Randn(3, 3));
    }

    [TestCase(false, 9, 7)]
    [TestCase(true, 4, 3)]
    [TestCase(true, 9, 11)]
    public void BilinearInterpolate(bool antialias, long height, long width) =>
        Check(x => F.interpolate(x[0], [height, width], antialias: antialias), Randn(1, 2, 6, 5));

    [Test]
    public void Dropout()
    {
        // Dropout is random, so instead of finite differences: the gradient is the mask scaled by 1/(1-p).
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor x = torch.ones([1000], ScalarType.Float64).requires_grad_();
        Tensor y = F.dropout(x, p: 0.25, training: true);
        y.sum().backward();
        double[] output = y.detach().ToArray<double>();
        double[] grad = x.grad!.ToArray<double>();
        Assert.That(grad, Is.EqualTo(output).Within(1e-15));
        Assert.That(output.Distinct().Order(), Is.EqualTo(new[] { 0.0, 1 / 0.75 }).Within(1e-12));
    }

    [Test]
    public void ElementwiseArithmetic() =>
        Check(x => (x[0] + x[1]) * x[0] - x[1] / (x[0].abs() + 1) + x[0].tanh().exp() + (x[1].square() + 1).log().sqrt() + (x[0].abs() + 0.5).pow(1.5),
            Randn(3, 4), Randn(3, 4));

    [Test]
    public void BroadcastingAndScalars() => Check(x => 2.0 - x[0] * 3.0 / (x[1].square() + 1) + x[0].maximum(x[1]), Randn(3, 1), Randn(1, 4));

    [Test]
    public void Reductions() =>
        Check(x => torch.cat([x[0].sum([1]).flatten(), x[0].mean([0, 2]), x[0].var([2]).flatten(), x[0].amax([1]).flatten(), x[0].mean().unsqueeze(0)]),
            Randn(2, 3, 4));

    [Test]
    public void Matmul() => Check(x => x[0].matmul(x[1]), Randn(2, 3, 4), Randn(4, 5));
}
