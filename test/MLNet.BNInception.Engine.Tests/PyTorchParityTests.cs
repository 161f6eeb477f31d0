using System.Runtime.InteropServices;
using System.Text.Json;
using MLNet.BNInception.Torch.Optim;
using F = MLNet.BNInception.Torch.torch.nn.functional;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// Our network against python/bn_inception_reference.py (SPEC.md's table in PyTorch) on the same
/// weights: logits in eval and training mode, and the weights after one SGD step.
/// </summary>
public class PyTorchParityTests
{
    [TestCase(64, 3, 10)]
    [TestCase(96, 1, 5)]
    public void SameLogitsAndSameTrainingStepAsPyTorch(int side, int channels, int classes)
    {
        const int batch = 4;
        const double lr = 0.05, momentum = 0.9, weightDecay = 1e-4;
        using var folder = new TemporaryDirectory();
        using var net = new BnInception(new BnInceptionOptions { InputSize = side, InputChannels = channels, NumClasses = classes }, seed: 8);
        using DisposeScope scope = torch.NewDisposeScope();

        // A few training-mode passes move the running statistics off their defaults, so that eval
        // mode is tested with statistics that matter.
        using (torch.no_grad())
        {
            for (int i = 0; i < 3; i++)
            {
                net.call(torch.randn([batch, channels, side, side]) * (i + 1));
            }
        }

        Tensor images = torch.randn([batch, channels, side, side]);
        Tensor labels = torch.randint(0, classes, [batch]);
        torch.save(net.state_dict(), folder.File("weights.pt"));
        File.WriteAllBytes(folder.File("input.bin"), MemoryMarshal.AsBytes(images.ToArray<float>().AsSpan()).ToArray());
        File.WriteAllBytes(folder.File("labels.bin"), MemoryMarshal.AsBytes(labels.ToArray<long>().AsSpan()).ToArray());
        File.WriteAllText(folder.File("config.json"), JsonSerializer.Serialize(new
        {
            batch, channels, size = side, classes, lr, momentum, weight_decay = weightDecay,
        }));
        PythonReference.Run("bn_inception_reference.py", "parity", folder.Path);

        net.eval();
        float[] evalLogits;
        using (torch.no_grad())
        {
            evalLogits = net.call(images).ToArray<float>();
        }

        AssertCloseToLogitScale(evalLogits, ReadFloats(folder.File("eval_logits.bin")), "eval mode");

        net.train();
        using var optimizer = new SGD(net.parameters(), lr, momentum, weight_decay: weightDecay);
        Tensor logits = net.call(images);
        AssertCloseToLogitScale(logits.detach().ToArray<float>(), ReadFloats(folder.File("train_logits.bin")), "training mode");
        F.cross_entropy(logits, labels).backward();
        optimizer.step();

        IReadOnlyList<KeyValuePair<string, Tensor>> updated = torch.load(folder.File("updated.pt"));
        try
        {
            Assert.That(updated.Select(pair => pair.Key), Is.EqualTo(net.state_dict().Select(pair => pair.Key)));
            foreach ((KeyValuePair<string, Tensor> ours, KeyValuePair<string, Tensor> theirs) in net.state_dict().Zip(updated))
            {
                using Tensor difference = (ours.Value.detach().to(ScalarType.Float64) - theirs.Value.to(ScalarType.Float64)).abs().amax();
                Assert.That(difference.item<double>(), Is.LessThan(1e-5), ours.Key);
            }

            // And back: PyTorch's weights load strictly into our network and give PyTorch's logits.
            using var fromPython = new BnInception(net.Options);
            fromPython.load_state_dict(updated, strict: true);
            Assert.That(fromPython.state_dict().Zip(updated).All(pair => pair.First.Value.equal(pair.Second.Value)), Is.True);
        }
        finally
        {
            foreach (KeyValuePair<string, Tensor> pair in updated)
            {
                pair.Value.Dispose();
            }
        }
    }

    private static void AssertCloseToLogitScale(float[] ours, float[] theirs, string what)
    {
        Assert.That(ours, Has.Length.EqualTo(theirs.Length));
        double scale = theirs.Max(Math.Abs);
        double worst = ours.Zip(theirs, (a, b) => Math.Abs(a - b)).Max();
        Assert.That(scale, Is.GreaterThan(0));
        Assert.That(worst, Is.LessThan(1e-4 * scale), $"{what}: max |difference| {worst:G3} at logit scale {scale:G3}");
    }

    private static float[] ReadFloats(string path) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();
}
