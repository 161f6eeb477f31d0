using System.Text.Json;
using MLNet.BNInception.Torch.Optim;

namespace MLNet.BNInception.Torch.Tests;

/// <summary>Our SGD against torch.optim.SGD (Debian's PyTorch) on the same parameters and gradients.</summary>
public class SgdTests
{
    private static readonly long[][] Shapes = [[3, 4], [5], [2, 2, 3, 3]];
    private const int Steps = 4;

    private static IEnumerable<TestCaseData> Settings()
    {
        yield return new TestCaseData(0.1, 0.0, 0.0, 0.0, false).SetName("Plain");
        yield return new TestCaseData(0.05, 0.9, 0.0, 1e-3, false).SetName("MomentumAndWeightDecay");
        yield return new TestCaseData(0.05, 0.9, 0.0, 4e-5, true).SetName("Nesterov");
        yield return new TestCaseData(0.02, 0.8, 0.3, 0.0, false).SetName("Dampening");
    }

    [TestCaseSource(nameof(Settings))]
    public void MatchesPyTorch(double lr, double momentum, double dampening, double weightDecay, bool nesterov)
    {
        // Parameter 1 sits in its own group without weight decay, as BN and bias parameters will.
        using var folder = new TemporaryDirectory();
        using DisposeScope scope = torch.NewDisposeScope();
        torch.manual_seed(3);
        Tensor[] parameters = Shapes.Select(shape => torch.randn(shape)).ToArray();
        for (int i = 0; i < parameters.Length; i++)
        {
            Write(folder.File($"p{i}.bin"), parameters[i]);
            parameters[i].requires_grad = true;
        }

        var groups = new[] { new ParamGroup([parameters[0], parameters[2]]), new ParamGroup([parameters[1]]) { WeightDecay = 0 } };
        using var optimizer = new SGD(groups, lr, momentum, dampening, weightDecay, nesterov);
        for (int step = 0; step < Steps; step++)
        {
            for (int i = 0; i < parameters.Length; i++)
            {
                Tensor grad = torch.randn(Shapes[i]);
                Write(folder.File($"g{step}_{i}.bin"), grad);
                (parameters[i] * grad).sum().backward(); // makes .grad equal to grad
            }

            optimizer.step();
            optimizer.zero_grad();
        }

        var config = new
        {
            shapes = Shapes,
            steps = Steps,
            defaults = new { lr, momentum, dampening, weight_decay = weightDecay, nesterov },
            groups = new object[]
            {
                new { indices = new[] { 0, 2 }, settings = new { } },
                new { indices = new[] { 1 }, settings = new { weight_decay = 0.0 } },
            },
        };
        PythonReference.Run("sgd_reference.py", folder.Path, JsonSerializer.Serialize(config));

        for (int i = 0; i < parameters.Length; i++)
        {
            float[] expected = Read(folder.File($"out{i}.bin"));
            Assert.That(parameters[i].detach().ToArray<float>(), Is.EqualTo(expected).Within(1e-6), $"parameter {i}");
        }
    }

    [Test]
    public void SavedAndRestoredStateContinuesIdentically()
    {
        using DisposeScope scope = torch.NewDisposeScope();
        torch.manual_seed(11);
        Tensor[] gradients = Enumerable.Range(0, 6).Select(_ => torch.randn([4])).ToArray();
        Tensor initial = torch.randn([4]);

        Tensor straight = initial.clone().requires_grad_();
        using var uninterrupted = new SGD([straight], lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 0.01);
        foreach (Tensor gradient in gradients)
        {
            Step(uninterrupted, straight, gradient);
        }

        Tensor resumed = initial.clone().requires_grad_();
        IReadOnlyList<KeyValuePair<string, Tensor>> saved;
        using (var first = new SGD([resumed], lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 0.01))
        {
            foreach (Tensor gradient in gradients.Take(3))
            {
                Step(first, resumed, gradient);
            }

            saved = first.state_dict();
        }

        Assert.That(saved.Select(pair => pair.Key), Does.Contain("state.0.momentum_buffer").And.Contain("param_groups.0.lr"));
        using var second = new SGD([resumed], lr: 999); // every setting comes back from the state
        second.load_state_dict(saved);
        foreach (Tensor gradient in gradients.Skip(3))
        {
            Step(second, resumed, gradient);
        }

        Assert.That(resumed.detach().ToArray<float>(), Is.EqualTo(straight.detach().ToArray<float>()));
        foreach (KeyValuePair<string, Tensor> pair in saved)
        {
            pair.Value.Dispose();
        }
    }

    [Test]
    public void InvalidSettingsAreRejected()
    {
        using Tensor p = torch.zeros([1]).requires_grad_();
        Assert.Throws<ArgumentException>(() => _ = new SGD([p], lr: 0.1, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new SGD([p], lr: -1));
        Assert.Throws<ArgumentException>(() => _ = new SGD([new ParamGroup([p]), new ParamGroup([p])], lr: 0.1));
    }

    private static void Step(SGD optimizer, Tensor parameter, Tensor gradient)
    {
        using DisposeScope scope = torch.NewDisposeScope();
        (parameter * gradient).sum().backward();
        optimizer.step();
        optimizer.zero_grad();
    }

    private static void Write(string path, Tensor tensor) => File.WriteAllBytes(path, System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.detach().ToArray<float>().AsSpan()).ToArray());

    private static float[] Read(string path) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();
}
