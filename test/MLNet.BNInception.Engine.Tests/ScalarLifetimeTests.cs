using MLNet.BNInception.Engine.Training;
using TorchSharp.Modules;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// TorchSharp 0.107 turns .NET numbers into native Scalars that only a finalizer frees, and passes
/// their handle on after its last use of the object, so a garbage collection at the wrong moment
/// frees a Scalar a native call is about to read: an error ("Unknown scalar type", seen once in CI)
/// or a wrong number. The per-step paths that did so (BN's batch count, the SGD step) hold their
/// Scalars (the flat SGD that training uses, and the per-parameter one that the Figure 1
/// experiment uses); here collections run back to back while they run many times.
/// </summary>
public class ScalarLifetimeTests : SingleThreadedFixture
{
    /// <summary>Runs <paramref name="work"/> while another thread collects garbage and runs finalizers without pause.</summary>
    /// <remarks>
    /// The collections are of generation 0, with a full one every 16th: a Scalar or tensor that a
    /// call makes and drops at once is among the newest objects, which a generation-0 collection
    /// finds at a cost that does not grow with the heap. Full collections back to back take
    /// milliseconds each in a test process's heap, so far fewer of them fall inside a native call
    /// (with a 50 MB heap, TorchSharp's own BatchNorm count failed in 3 of 6 runs of 20,000 batches
    /// under full collections, and 200,000 batches took 118 s in the suite on a processor without
    /// AVX-512). With these collections, the other core busy, it failed in 8 of 8 runs of 50,000
    /// batches with a 50 MB heap and 8 of 8 with a 300 MB one, each within a second, and TorchSharp's
    /// SGD step in 8 of 8 runs of 20,000 steps.
    /// </remarks>
    internal static T WhileCollecting<T>(Func<T> work)
    {
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            for (long collection = 1; !stop.IsCancellationRequested; collection++)
            {
                GC.Collect(collection % 16 == 0 ? GC.MaxGeneration : 0);
                GC.WaitForPendingFinalizers();
            }
        }) { IsBackground = true };
        collector.Start();
        try
        {
            return work();
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
    }

    [Test]
    public void BatchNormCountsEveryTrainingBatch()
    {
        // The smallest block and input, so that the count runs as often as possible.
        using var block = new ConvolutionBlock(1, 1, 1, 1, 0, new BnInceptionOptions());
        block.train();
        using Tensor input = randn([2, 1, 1, 1]);
        const int Batches = 50_000;

        long counted = WhileCollecting(() =>
        {
            for (int i = 0; i < Batches; i++)
            {
                using Tensor output = block.call(input);
            }

            return block.Bn!.num_batches_tracked!.item<long>();
        });

        Assert.That(counted, Is.EqualTo(Batches));
    }

    [Trains]
    [Test]
    public void TheSgdStepGivesTheSameWeightsAsWithoutCollections()
    {
        float[] Train(bool collecting)
        {
            manual_seed(3);
            using var layer = nn.Linear(2, 2);
            using SGD optimizer = optim.SGD(
                [new SGD.ParamGroup([layer.weight], 0.01, 0.9, weight_decay: 1e-3, nesterov: true), new SGD.ParamGroup([layer.bias!], 0.01, 0.9, weight_decay: 0, nesterov: true)],
                0.01, 0.9, nesterov: true);
            using Tensor input = randn([2, 2]);
            float[] Steps()
            {
                for (int i = 0; i < 20_000; i++)
                {
                    using DisposeScope scope = NewDisposeScope();
                    optimizer.zero_grad();
                    // The loss itself must not hand TorchSharp a number: square() is pow(2), whose 2
                    // becomes a Scalar that a collection can free mid-call (what this test is about).
                    Tensor output = layer.call(input);
                    output.mul(output).mean().backward();
                    SgdStep.Apply(optimizer);
                }

                return TestModels.Values(layer.weight);
            }

            return collecting ? WhileCollecting(Steps) : Steps();
        }

        Assert.That(Train(collecting: true), Is.EqualTo(Train(collecting: false)));
    }

    [Trains]
    [Test]
    public void TheFlatSgdStepGivesTheSameWeightsAsWithoutCollections()
    {
        float[] Train(bool collecting)
        {
            manual_seed(3);
            using var layer = nn.Linear(2, 2);
            using var optimizer = new FlatSgd(
                [([layer.weight], new FlatSgd.Settings(0.01, 0.9, 1e-3, Nesterov: true)), ([layer.bias!], new FlatSgd.Settings(0.01, 0.9, 0, Nesterov: true))]);
            using Tensor input = randn([2, 2]);
            float[] Steps()
            {
                for (int i = 0; i < 20_000; i++)
                {
                    using DisposeScope scope = NewDisposeScope();
                    optimizer.ZeroGradients();
                    Tensor output = layer.call(input);
                    output.mul(output).mean().backward();
                    optimizer.Step();
                }

                return TestModels.Values(layer.weight);
            }

            return collecting ? WhileCollecting(Steps) : Steps();
        }

        Assert.That(Train(collecting: true), Is.EqualTo(Train(collecting: false)));
    }
}
