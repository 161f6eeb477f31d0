namespace MLNet.BNInception.Engine.Tests;

/// <summary>The network's structure against docs/paper.md §2.</summary>
public class BnInceptionTests
{
    [Test]
    public void HasTheReleasedModelsParameterCountAt224With1000Classes()
    {
        using var net = new BnInception(new BnInceptionOptions());
        long count = net.parameters().Sum(p => p.numel());
        Assert.That(count, Is.EqualTo(11_285_224));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void StageOutputsHaveTheTablesShapes(bool channelsLast)
    {
        using var net = new BnInception(new BnInceptionOptions { NumClasses = 1000 });
        net.UseChannelsLast(channelsLast).eval();
        using Tensor input = randn([1, 3, 224, 224]);
        using IDisposable inference = inference_mode();
        var shapes = net.StageOutputs(input).ToDictionary(stage => stage.Stage, stage => stage.Shape);

        Assert.That(shapes["stem"], Is.EqualTo(new long[] { 1, 192, 28, 28 }));
        (string Stage, long Channels, long Side)[] expected =
        [
            ("3a", 256, 28), ("3b", 320, 28), ("3c", 576, 14), ("4a", 576, 14), ("4b", 576, 14),
            ("4c", 608, 14), ("4d", 608, 14), ("4e", 1056, 7), ("5a", 1024, 7), ("5b", 1024, 7),
        ];
        foreach ((string stage, long channels, long side) in expected)
        {
            Assert.That(shapes[stage], Is.EqualTo(new long[] { 1, channels, side, side }), stage);
        }

        Assert.That(shapes["pool"], Is.EqualTo(new long[] { 1, 1024 }));
    }

    [TestCase(64, 1)]
    [TestCase(96, 3)]
    [TestCase(160, 3)]
    public void AnyMultipleOf32FromSixtyFourWorks(int side, int channels)
    {
        using var net = new BnInception(new BnInceptionOptions { InputSize = side, InputChannels = channels, NumClasses = 7 });
        net.eval();
        using Tensor input = randn([2, channels, side, side]);
        using IDisposable inference = inference_mode();
        using Tensor logits = net.call(input);
        Assert.That(logits.shape, Is.EqualTo(new long[] { 2, 7 }));
    }

    [TestCase(32)]
    [TestCase(100)]
    [TestCase(225)]
    [TestCase(4128)] // a multiple of 32 beyond 4096, the largest side
    public void OtherInputSizesAreRejectedWhenTheModelIsBuilt(int side)
    {
        var error = Assert.Throws<ArgumentException>(() => new BnInception(new BnInceptionOptions { InputSize = side }));
        Assert.That(error!.Message, Does.Contain($"InputSize {side} is not supported").And.Contain("multiple of 32 and at least 64"));
    }

    [Test]
    public void InputOfTheWrongShapeOrTypeIsAClearError()
    {
        using var net = new BnInception(new BnInceptionOptions { InputSize = 64, NumClasses = 3 });
        using Tensor wrong = randn([2, 3, 96, 96]);
        var error = Assert.Throws<ArgumentException>(() => net.call(wrong));
        Assert.That(error!.Message, Does.Contain("input must be N x 3 x 64 x 64, got [2, 3, 96, 96]"));

        using Tensor doubles = randn([2, 3, 64, 64], ScalarType.Float64);
        Assert.That(Assert.Throws<ArgumentException>(() => net.call(doubles))!.Message, Does.Contain("expects Float32 input").And.Contain("got Float64"));
    }

    [Test]
    public void WithoutBatchNormEveryConvolutionHasABias()
    {
        using var net = new BnInception(new BnInceptionOptions { BatchNorm = false, InputSize = 64, NumClasses = 10 });
        string[] keys = net.state_dict().Keys.ToArray();
        Assert.That(keys.Where(key => key.EndsWith(".conv.weight", StringComparison.Ordinal)).Select(key => key.Replace(".weight", ".bias", StringComparison.Ordinal)),
            Is.SubsetOf(keys));
        Assert.That(keys, Has.None.Contains(".bn."));
    }

    [Test]
    public void SameSeedSameWeightsInEitherLayoutAndTheGlobalStreamIsLeftAlone()
    {
        manual_seed(42);
        using Tensor before = rand(3);
        manual_seed(42);
        using var first = new BnInception(new BnInceptionOptions { InputSize = 64, NumClasses = 10 }, seed: 5);
        using var second = new BnInception(new BnInceptionOptions { InputSize = 64, NumClasses = 10 }, seed: 5);
        second.UseChannelsLast();
        using Tensor after = rand(3);
        Assert.That(TestTensors.SameBytes(after, before), Is.True, "building networks drew nothing from the global generator");
        foreach ((string key, Tensor value) in first.state_dict())
        {
            Assert.That(TestTensors.SameBytes(value, second.state_dict()[key]), Is.True, key);
        }

        using var other = new BnInception(new BnInceptionOptions { InputSize = 64, NumClasses = 10 }, seed: 6);
        Assert.That(TestTensors.SameBytes(other.state_dict()["conv1.conv.weight"], first.state_dict()["conv1.conv.weight"]), Is.False);
    }

    /// <summary>
    /// Dropout before the classifier as PyTorch's F.dropout has it: in training mode each pooled
    /// feature is zeroed with probability p and the others are multiplied by 1/(1 − p), drawn anew at
    /// each call and alike after the same seed (the trainer seeds it); in eval mode nothing is
    /// dropped, and the network gives what the same weights without dropout give. Seen through a
    /// classifier that copies its 1024 inputs to its logits, against those weights without dropout
    /// in the same mode: in training mode BN takes the batch's statistics, alike in both.
    /// </summary>
    [Test]
    public void DropoutZeroesTheShareOfFeaturesItIsGivenAndScalesTheRestInTrainingOnly()
    {
        const double p = 0.3;
        var options = new BnInceptionOptions { InputSize = 64, InputChannels = 1, NumClasses = 1024 };
        using var withoutDropout = WithCopyingClassifier(new BnInception(options, seed: 4));
        using var withDropout = WithCopyingClassifier(new BnInception(options with { Dropout = p }, seed: 4));
        manual_seed(9);
        using Tensor images = randn([8, 1, 64, 64]);
        using DisposeScope scope = NewDisposeScope();
        using IDisposable noGrad = no_grad();

        // Eval mode first: a training-mode call moves BN's running statistics.
        withoutDropout.eval();
        withDropout.eval();
        float[] evalFeatures = TestModels.Values(withoutDropout.call(images));
        TestModels.AssertEqualValues(TestModels.Values(withDropout.call(images)), evalFeatures, "eval mode, with dropout and without");
        TestModels.AssertEqualValues(TestModels.Values(withDropout.call(images)), evalFeatures, "eval mode, called again");

        withoutDropout.train();
        withDropout.train();
        float[] features = TestModels.Values(withoutDropout.call(images));
        manual_seed(10);
        float[] dropped = TestModels.Values(withDropout.call(images));
        float[] next = TestModels.Values(withDropout.call(images));
        manual_seed(10);
        TestModels.AssertEqualValues(TestModels.Values(withDropout.call(images)), dropped, "training mode after the same seed");

        // A feature that is 0 tells nothing; every other is 0 or scaled.
        int zeroed = 0, kept = 0;
        double worstScaling = 0;
        for (int i = 0; i < features.Length; i++)
        {
            if (features[i] == 0)
            {
                continue;
            }

            if (dropped[i] == 0)
            {
                zeroed++;
                continue;
            }

            kept++;
            worstScaling = Math.Max(worstScaling, Math.Abs(dropped[i] / (features[i] / (1 - p)) - 1));
        }

        Assert.That(worstScaling, Is.LessThan(1e-6), "a feature kept is multiplied by 1/(1 - p)");
        int told = zeroed + kept;
        Assert.That(told, Is.GreaterThan(features.Length / 2), "most pooled features are not 0");
        // Binomial: the share zeroed lies within 5 standard deviations of p (6e-7 of draws lie outside).
        Assert.That((double)zeroed / told, Is.EqualTo(p).Within(5 * Math.Sqrt(p * (1 - p) / told)), $"{zeroed} of {told} features zeroed");
        // Two draws differ on a feature with probability 2p(1 − p), 0.42: about 3,400 of 8,192.
        Assert.That(next.Zip(dropped).Count(pair => pair.First != pair.Second), Is.GreaterThan(features.Length / 4), "the next call drops other features");
    }

    // The classifier copies its 1024 inputs to the logits: they are the features it is given.
    private static BnInception WithCopyingClassifier(BnInception net)
    {
        using IDisposable noGrad = no_grad();
        // Frees the handles the in-place calls return.
        using DisposeScope scope = NewDisposeScope();
        using Tensor identity = eye(1024);
        net.Classifier.weight.copy_(identity);
        net.Classifier.bias!.zero_();
        return net;
    }
}
