namespace MLNet.BNInception.Engine.Tests;

/// <summary>The network's structure against SPEC.md §2.</summary>
public class BnInceptionTests
{
    [Test]
    public void HasTheReleasedModelsParameterCountAt224With1000Classes()
    {
        using var net = new BnInception(new BnInceptionOptions());
        long count = net.parameters().Sum(p => p.numel());
        Assert.That(count, Is.EqualTo(11_285_224));
    }

    [Test]
    public void StageOutputsHaveTheTablesShapes()
    {
        using var net = new BnInception(new BnInceptionOptions { NumClasses = 1000 });
        net.eval();
        using Tensor input = torch.randn([1, 3, 224, 224]);
        using IDisposable inference = torch.inference_mode();
        var shapes = net.StageShapes(input).ToDictionary(stage => stage.Stage, stage => stage.Shape);

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
        using Tensor input = torch.randn([2, channels, side, side]);
        using IDisposable inference = torch.inference_mode();
        using Tensor logits = net.call(input);
        Assert.That(logits.shape, Is.EqualTo(new long[] { 2, 7 }));
    }

    [TestCase(32)]
    [TestCase(100)]
    [TestCase(225)]
    public void OtherInputSizesAreRejectedWhenTheModelIsBuilt(int side)
    {
        var error = Assert.Throws<ArgumentException>(() => new BnInception(new BnInceptionOptions { InputSize = side }));
        Assert.That(error!.Message, Does.Contain($"InputSize {side} is not supported").And.Contain("multiple of 32 and at least 64"));
    }

    [Test]
    public void InputOfTheWrongShapeIsAClearError()
    {
        using var net = new BnInception(new BnInceptionOptions { InputSize = 64, NumClasses = 3 });
        using Tensor wrong = torch.randn([2, 3, 96, 96]);
        var error = Assert.Throws<ArgumentException>(() => net.call(wrong));
        Assert.That(error!.Message, Does.Contain("expects input N x 3 x 64 x 64, got [2, 3, 96, 96]"));
    }

    [Test]
    public void WithoutBatchNormEveryConvolutionHasABias()
    {
        using var net = new BnInception(new BnInceptionOptions { BatchNorm = false, InputSize = 64, NumClasses = 10 });
        string[] keys = net.state_dict().Select(pair => pair.Key).ToArray();
        Assert.That(keys.Where(key => key.EndsWith(".conv.weight", StringComparison.Ordinal)).Select(key => key.Replace(".weight", ".bias", StringComparison.Ordinal)),
            Is.SubsetOf(keys));
        Assert.That(keys, Has.None.Contains(".bn."));
    }

    [Test]
    public void SameSeedSameWeights()
    {
        using var first = new BnInception(new BnInceptionOptions { InputSize = 64, NumClasses = 10 }, seed: 5);
        using var second = new BnInception(new BnInceptionOptions { InputSize = 64, NumClasses = 10 }, seed: 5);
        foreach ((KeyValuePair<string, Tensor> a, KeyValuePair<string, Tensor> b) in first.state_dict().Zip(second.state_dict()))
        {
            Assert.That(a.Value.equal(b.Value), Is.True, a.Key);
        }
    }
}
