using MLNet.BNInception.Torch.Modules;

namespace MLNet.BNInception.Torch.Tests;

public class ModuleTests
{
    private static Sequential SmallNet() => new(
        new Conv2d(1, 4, 3, bias: false),
        new BatchNorm2d(4),
        new ReLU(),
        new Flatten(),
        new Linear(4 * 6 * 6, 3));

    [Test]
    public void StateDictKeysAreThoseOfTheSameNetworkInPyTorch()
    {
        using Sequential net = SmallNet();
        string[] expected = PythonReference.Run("state_dict_keys.py").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(net.state_dict().Select(pair => pair.Key), Is.EqualTo(expected));
        Assert.That(net.named_parameters().Select(pair => pair.Key),
            Is.EqualTo(new[] { "0.weight", "1.weight", "1.bias", "4.weight", "4.bias" }));
    }

    [Test]
    public void ForwardAndBackwardReachEveryParameter()
    {
        using Sequential net = SmallNet();
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor output = net.call(torch.randn([2, 1, 8, 8]));
        Assert.That(output.shape, Is.EqualTo(new long[] { 2, 3 }));
        output.sum().backward();
        Assert.That(net.parameters().Select(p => p.grad), Is.All.Not.Null);
        net.zero_grad();
        Assert.That(net.parameters().Select(p => p.grad), Is.All.Null);
    }

    [Test]
    public void TrainAndEvalReachEveryDescendant()
    {
        using Sequential net = SmallNet();
        net.eval();
        Assert.That(net.named_modules().Select(m => m.Value.training), Is.All.False);
        net.train();
        Assert.That(net.named_modules().Select(m => m.Value.training), Is.All.True);
    }

    [Test]
    public void LoadStateDictCopiesValuesAndRejectsMismatchesWithoutChangingAnything()
    {
        using Sequential source = SmallNet();
        using Sequential target = SmallNet();
        using DisposeScope scope = torch.NewDisposeScope();
        float[] before = target.state_dict()[0].Value.detach().ToArray<float>();

        var wrongShape = source.state_dict().Select(pair => pair.Key == "4.bias" ? new KeyValuePair<string, Tensor>(pair.Key, torch.zeros([5])) : pair).ToList();
        var shapeError = Assert.Throws<ArgumentException>(() => target.load_state_dict(wrongShape));
        Assert.That(shapeError!.Message, Does.Contain("'4.bias' has shape [5]"));
        Assert.That(target.state_dict()[0].Value.detach().ToArray<float>(), Is.EqualTo(before), "nothing copied");

        var missing = source.state_dict().Where(pair => pair.Key != "1.running_var").Append(new("extra.weight", torch.zeros([1]))).ToList();
        var keyError = Assert.Throws<ArgumentException>(() => target.load_state_dict(missing));
        Assert.That(keyError!.Message, Does.Contain("Missing keys: [1.running_var]").And.Contain("unexpected keys: [extra.weight]"));

        target.load_state_dict(source.state_dict());
        foreach ((KeyValuePair<string, Tensor> mine, KeyValuePair<string, Tensor> theirs) in target.state_dict().Zip(source.state_dict()))
        {
            Assert.That(mine.Value.equal(theirs.Value), Is.True, mine.Key);
        }
    }

    [Test]
    public void DisposingAModuleFreesItsTensors()
    {
        long before = torch.LiveTensorCount;
        Sequential net = SmallNet();
        Assert.That(torch.LiveTensorCount, Is.EqualTo(before + 8));
        net.Dispose();
        Assert.That(torch.LiveTensorCount, Is.EqualTo(before));
    }
}
