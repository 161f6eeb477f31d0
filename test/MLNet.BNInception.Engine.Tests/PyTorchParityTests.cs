using System.Runtime.InteropServices;
using System.Text.Json;
using MLNet.BNInception.Interop;
using TorchSharp.Modules;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// Our network against python/bn_inception_reference.py (SPEC.md's table in PyTorch) on the same
/// weights: logits in eval and training mode, and the weights after one step of SGD with Nesterov
/// momentum and weight decay on convolution and classifier weights only, as the trainer sets it up.
/// </summary>
public class PyTorchParityTests
{
    /// <summary>
    /// Float32 in the contiguous layout, as PyTorch computes it by default; and float64 in the
    /// channels-last layout, which shows that layout computes the same function and gradients (in
    /// float32 the two layouts' kernels round differently, and the fresh network's BN backward pass
    /// amplifies that beyond 1e-5, in PyTorch as much as here).
    /// </summary>
    [TestCase(64, 3, 10, false, false)]
    [TestCase(96, 1, 5, false, false)]
    [TestCase(64, 3, 10, true, true)]
    public void SameLogitsAndSameTrainingStepAsPyTorch(int side, int channels, int classes, bool channelsLast, bool float64)
    {
        ScalarType type = float64 ? ScalarType.Float64 : ScalarType.Float32;
        const int batch = 4;
        const double lr = 0.05, momentum = 0.9, weightDecay = 1e-4;
        using var folder = new TemporaryDirectory();
        using var net = new BnInception(new BnInceptionOptions { InputSize = side, InputChannels = channels, NumClasses = classes }, seed: 8);
        net.to(type).UseChannelsLast(channelsLast);
        using DisposeScope scope = NewDisposeScope();

        // A few training-mode passes move the running statistics off their defaults, so that eval
        // mode is tested with statistics that matter.
        using (no_grad())
        {
            for (int i = 0; i < 3; i++)
            {
                net.call(randn([batch, channels, side, side], type) * (i + 1));
            }
        }

        Tensor images = randn([batch, channels, side, side], type);
        Tensor labels = randint(0, classes, [batch]);
        PyTorchStateDict.Save(net.state_dict(), folder.File("weights.pt"));
        File.WriteAllBytes(folder.File("input.bin"), images.contiguous().bytes.ToArray());
        File.WriteAllBytes(folder.File("labels.bin"), MemoryMarshal.AsBytes(labels.data<long>().ToArray().AsSpan()).ToArray());
        File.WriteAllText(folder.File("config.json"), JsonSerializer.Serialize(new
        {
            batch, channels, size = side, classes, lr, momentum, weight_decay = weightDecay, nesterov = true, dtype = float64 ? "float64" : "float32",
        }));
        PythonReference.Run("bn_inception_reference.py", "parity", folder.Path);

        net.eval();
        using (no_grad())
        {
            TestModels.AssertCloseToScale(TestModels.Values(net.call(images)), ReadFloats(folder.File("eval_logits.bin")), "eval mode");
        }

        net.train();
        var decayed = net.named_parameters().Where(p => p.name.EndsWith("conv.weight", StringComparison.Ordinal) || p.name == "fc.weight").Select(p => p.parameter);
        var exempt = net.named_parameters().Where(p => !(p.name.EndsWith("conv.weight", StringComparison.Ordinal) || p.name == "fc.weight")).Select(p => p.parameter);
        using var optimizer = optim.SGD(
            [new SGD.ParamGroup(decayed, lr, momentum, weight_decay: weightDecay, nesterov: true), new SGD.ParamGroup(exempt, lr, momentum, nesterov: true)],
            lr, momentum, nesterov: true);
        Tensor logits = net.call(images);
        TestModels.AssertCloseToScale(TestModels.Values(logits), ReadFloats(folder.File("train_logits.bin")), "training mode");
        F.cross_entropy(logits, labels).backward();
        optimizer.step();

        IReadOnlyList<KeyValuePair<string, Tensor>> updated = PyTorchStateDict.Load(folder.File("updated.pt"));
        Dictionary<string, Tensor> ours = net.state_dict();
        Assert.That(updated.Select(pair => pair.Key), Is.EquivalentTo(ours.Keys));
        foreach ((string key, Tensor theirs) in updated)
        {
            float[] expected = TestModels.Values(theirs);
            float[] actual = TestModels.Values(ours[key]);
            Assert.That(actual.Zip(expected, (a, b) => Math.Abs(a - b)).DefaultIfEmpty(0).Max(), Is.LessThan(1e-5), key);
        }

        // And back: PyTorch's weights load strictly into our network, whatever its layout.
        using var fromPython = new BnInception(net.Options);
        fromPython.to(type).UseChannelsLast(!channelsLast);
        PyTorchStateDict.LoadInto(fromPython, updated);
        foreach ((string key, Tensor theirs) in updated)
        {
            Assert.That(TestModels.SameValues(fromPython.state_dict()[key], theirs), Is.True, key);
        }
    }

    [Test]
    public void TheNetworkHasTheReferencesParameterCount()
    {
        using var net = new BnInception(new BnInceptionOptions());
        long ours = net.parameters().Sum(p => p.numel());
        Assert.That(long.Parse(PythonReference.Run("bn_inception_reference.py", "count").Trim(), System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(ours));
    }

    private static float[] ReadFloats(string path) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();
}
