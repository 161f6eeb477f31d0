using MLNet.BNInception.Engine.Interop;
using TorchSharp.Modules;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// <see cref="PyTorchStateDict.LoadInto"/>: a mismatch is an error that names the keys and shapes and
/// leaves the module as it was; a match copies the values in, keeping the module's own tensors and layout.
/// </summary>
public class PyTorchStateDictLoadIntoTests
{
    private const string Source = "weights.pt";

    /// <summary>Conv2d(1, 2, 3) then BatchNorm2d(2), weights drawn from <paramref name="seed"/>.</summary>
    private static Sequential SmallNet(long seed)
    {
        manual_seed(seed);
        Sequential net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2));
        using IDisposable noGrad = no_grad();
        foreach (Tensor value in net.state_dict().Values)
        {
            if (is_floating_point(value))
            {
                value.normal_();
            }
        }

        return net;
    }

    /// <summary>Copies of every value, as a state dict read from a file would be.</summary>
    private static Dictionary<string, Tensor> CopyOfState(nn.Module module) =>
        module.state_dict().ToDictionary(pair => pair.Key, pair => pair.Value.detach().clone());

    private static void AssertUnchanged(nn.Module module, Dictionary<string, Tensor> before)
    {
        foreach ((string key, Tensor value) in module.state_dict())
        {
            Assert.That(TestTensors.SameBytes(value, before[key]), Is.True, $"'{key}' is unchanged");
        }
    }

    [Test]
    public void StrictLoadNamesMissingAndUnexpectedKeysAndCopiesNothing()
    {
        using DisposeScope scope = NewDisposeScope();
        using Sequential net = SmallNet(1);
        Dictionary<string, Tensor> before = CopyOfState(net);
        using Sequential other = SmallNet(2);
        Dictionary<string, Tensor> given = CopyOfState(other);
        given.Remove("1.running_var");
        given["2.weight"] = ones([2]);

        var error = Assert.Throws<InvalidDataException>(() => PyTorchStateDict.LoadInto(net, given, source: Source));
        Assert.That(error!.Message, Does.StartWith(Source));
        Assert.That(error.Message, Does.Contain("missing '1.running_var'"));
        Assert.That(error.Message, Does.Contain("unexpected '2.weight'"));
        AssertUnchanged(net, before);
    }

    [Test]
    public void StrictLoadCountsTheKeysItDoesNotName()
    {
        using var net = new BnInception(new BnInceptionOptions { InputSize = 64, NumClasses = 10 });
        int keys = net.state_dict().Count;
        var error = Assert.Throws<InvalidDataException>(() => PyTorchStateDict.LoadInto(net, [], source: Source));
        Assert.That(error!.Message, Does.Contain("missing 'conv1.conv.weight'").And.Contain($"and {keys - 5} more"));
    }

    /// <summary>
    /// A bias of one value would broadcast over the model's two in a plain copy; the mismatch is on
    /// the last key, so a loader that copied as it checked would already have changed the others.
    /// </summary>
    [Test]
    public void ShapeMismatchNamesTheKeyAndBothShapesAndCopiesNothing()
    {
        using DisposeScope scope = NewDisposeScope();
        using Sequential net = SmallNet(1);
        Dictionary<string, Tensor> before = CopyOfState(net);
        using Sequential other = SmallNet(2);
        Dictionary<string, Tensor> given = CopyOfState(other);
        given["1.bias"] = ones([1]);

        var error = Assert.Throws<InvalidDataException>(() => PyTorchStateDict.LoadInto(net, given, source: Source));
        Assert.That(error!.Message, Is.EqualTo($"{Source}: '1.bias' has shape [1], the model's is [2]."));
        Assert.That(TestTensors.SameBytes(given["0.weight"], before["0.weight"]), Is.False, "the given weight differs, so a copy would show");
        AssertUnchanged(net, before);

        // Not strict: an extra or missing key is allowed, a wrong shape still is not.
        Assert.Throws<InvalidDataException>(() => PyTorchStateDict.LoadInto(net, given, strict: false, source: Source));
        AssertUnchanged(net, before);
    }

    [Test]
    public void IntegerValuesForAFloatParameterAreAnError()
    {
        using DisposeScope scope = NewDisposeScope();
        using Sequential net = SmallNet(1);
        Dictionary<string, Tensor> before = CopyOfState(net);
        using Sequential other = SmallNet(2);
        Dictionary<string, Tensor> given = CopyOfState(other);
        given["1.weight"] = ones([2], ScalarType.Int64);

        var error = Assert.Throws<InvalidDataException>(() => PyTorchStateDict.LoadInto(net, given, source: Source));
        Assert.That(error!.Message, Does.Contain("'1.weight'").And.Contain("Int64").And.Contain("Float32"));
        AssertUnchanged(net, before);
    }

    [Test]
    public void RepeatedKeysAreAnError()
    {
        using DisposeScope scope = NewDisposeScope();
        using Sequential net = SmallNet(1);
        List<KeyValuePair<string, Tensor>> given = [.. CopyOfState(net), new("0.bias", zeros([2]))];
        var error = Assert.Throws<InvalidDataException>(() => PyTorchStateDict.LoadInto(net, given, source: Source));
        Assert.That(error!.Message, Is.EqualTo($"{Source} has two entries named '0.bias'."));
    }

    [Test]
    public void NonStrictLoadIgnoresExtraEntriesAndLeavesMissingOnesAsTheyAre()
    {
        using DisposeScope scope = NewDisposeScope();
        using Sequential net = SmallNet(1);
        Dictionary<string, Tensor> before = CopyOfState(net);
        using Sequential other = SmallNet(2);
        Dictionary<string, Tensor> given = CopyOfState(other);
        given.Remove("1.weight");
        given["classifier.weight"] = ones([3, 3]);

        PyTorchStateDict.LoadInto(net, given, strict: false, source: Source);

        foreach ((string key, Tensor value) in net.state_dict())
        {
            Tensor expected = key == "1.weight" ? before[key] : given[key];
            Assert.That(TestTensors.SameBytes(value, expected), Is.True, key);
        }

        Assert.That(TestTensors.SameBytes(before["0.weight"], given["0.weight"]), Is.False, "the copy is visible");
    }

    /// <summary>
    /// The trainer and scorer load weights into a channels-last network: the values must arrive
    /// while each convolution weight keeps its channels-last strides and stays the module's own trainable tensor.
    /// </summary>
    [Test]
    public void LoadingIntoAChannelsLastBnInceptionKeepsItsLayout()
    {
        var options = new BnInceptionOptions { InputSize = 64, NumClasses = 10 };
        using var net = new BnInception(options, seed: 1).UseChannelsLast();
        using var source = new BnInception(options, seed: 2);
        using DisposeScope scope = NewDisposeScope();
        Dictionary<string, Tensor> targets = net.state_dict();
        Dictionary<string, long[]> strides = targets.ToDictionary(pair => pair.Key, pair => pair.Value.stride());
        Assert.That(targets["conv2.conv.weight"].is_contiguous(), Is.False, "the weights start channels-last");

        using var file = new MemoryStream();
        PyTorchStateDict.Save(source.state_dict(), file);
        file.Position = 0;
        IReadOnlyList<KeyValuePair<string, Tensor>> loaded = PyTorchStateDict.Load(file);
        PyTorchStateDict.LoadInto(net, loaded, source: Source);

        Dictionary<string, Tensor> expected = source.state_dict();
        Dictionary<string, Tensor> after = net.state_dict();
        Assert.That(after.Keys, Is.EqualTo(targets.Keys));
        foreach ((string key, Tensor value) in after)
        {
            Assert.That(value, Is.SameAs(targets[key]), $"'{key}' is still the module's own tensor");
            Assert.That(value.stride(), Is.EqualTo(strides[key]), $"'{key}' keeps its strides");
            Assert.That(TestTensors.SameBytes(value, expected[key]), Is.True, $"'{key}' holds the loaded values");
        }

        Assert.That(net.Blocks().All(block => ChannelsLast.Is(block.Block.Conv.weight)), Is.True, "every convolution weight is channels-last");
        Assert.That(net.parameters().All(parameter => parameter.requires_grad), Is.True, "still trainable");

        // The values were copied: the loaded tensors are not the module's.
        loaded[0].Value.zero_();
        Assert.That(TestTensors.SameBytes(after[loaded[0].Key], expected[loaded[0].Key]), Is.True);
    }
}
