using MLNet.BNInception.Engine.Network;
using TorchSharp.Modules;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// BatchNormForward, which the engine's convolution blocks and the Figure 1 network run in place of
/// TorchSharp's BatchNorm (whose batch count makes an implicit Scalar), against TorchSharp's own
/// BatchNorm1d and BatchNorm2d, run without collections: the same outputs, running statistics and count
/// over training steps, then the same output in evaluation.
/// </summary>
public sealed class BatchNormForwardTests
{
    [TestCase(1, null)]
    [TestCase(2, null)]
    [TestCase(1, 0.3)]
    [TestCase(2, 0.3)]
    public void ItComputesWhatTorchSharpsBatchNormComputes(int dimensions, double? momentum)
    {
        TorchRuntime.EnsureLoaded();
        using DisposeScope scope = NewDisposeScope();
        using var generator = new Generator(11);
        // momentum null: a cumulative average, 1 / the batches counted so far, which reads the count.
        Func<BatchNorm> make = dimensions == 1 ? () => nn.BatchNorm1d(6) : () => nn.BatchNorm2d(6);
        using BatchNorm ours = make(), theirs = make();
        ours.momentum = theirs.momentum = momentum;
        Tensor[] batches = [.. Enumerable.Range(0, 3).Select(_ => dimensions == 1 ? randn([8, 6], generator: generator) : randn([4, 6, 3, 5], generator: generator))];
        using (no_grad())
        {
            foreach (BatchNorm bn in new[] { ours, theirs })
            {
                // Not the default 1 and 0, so that the affine part shows.
                bn.weight!.copy_(linspace(0.5, 2, 6));
                bn.bias!.copy_(linspace(-1, 1, 6));
            }
        }

        Tensor[] ourOutputs = Run(ours, batches, reference: false);
        Tensor[] theirOutputs = Run(theirs, batches, reference: true);
        for (int i = 0; i < ourOutputs.Length; i++)
        {
            Assert.That(ourOutputs[i].sub(theirOutputs[i]).abs().max().item<float>(), Is.LessThan(1e-6f), $"output {i}");
        }

        Assert.That(ours.num_batches_tracked!.item<long>(), Is.EqualTo(theirs.num_batches_tracked!.item<long>()).And.EqualTo(3), "batches counted");
        Assert.That(ours.running_mean!.sub(theirs.running_mean!).abs().max().item<float>(), Is.LessThan(1e-6f), "running mean");
        Assert.That(ours.running_var!.sub(theirs.running_var!).abs().max().item<float>(), Is.LessThan(1e-6f), "running variance");
    }

    // Three training steps on the batches, then each batch in evaluation, through ours or TorchSharp's.
    private static Tensor[] Run(BatchNorm bn, Tensor[] batches, bool reference)
    {
        var outputs = new List<Tensor>();
        foreach (bool training in new[] { true, false })
        {
            bn.train(training);
            foreach (Tensor batch in batches)
            {
                if (reference)
                {
                    Tensor? output = null;
                    WithoutCollections.Run(TorchSharpsOwn(bn, batch, result => output = result));
                    outputs.Add(output!);
                }
                else
                {
                    outputs.Add(BatchNormForward.Apply(bn, batch));
                }
            }
        }

        return [.. outputs];
    }

    // TorchSharp's BatchNorm.forward, the reference, makes an implicit Scalar when it counts a batch.
    private static Action TorchSharpsOwn(BatchNorm bn, Tensor batch, Action<Tensor> result) => [ReferencePath] () => result(bn.call(batch));
}
