using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// A seed gives the same network, and a training run the same weights to the bit, whatever other
/// threads do meanwhile: build networks, train, or seed and draw from libtorch's global generator
/// (docs/engine.md, "The network"). Before each drew from its own generator, networks built on two
/// threads at once got weights other than their seed's, and two runs of one seed ended apart.
/// </summary>
public class ConcurrentSeedTests : SingleThreadedFixture
{
    // Dropout and augmentation both draw, so a run's result depends on every draw of its generator.
    private static readonly BnInceptionOptions Model = new() { InputSize = 64, InputChannels = 1, NumClasses = 3, Dropout = 0.3 };

    [Test]
    public void NetworksBuiltOnThreeThreadsAtOnceHaveTheirSeedsWeights()
    {
        const int threads = 3, buildsEach = 4;
        byte[][] alone = [.. Enumerable.Range(0, threads).Select(seed => WeightsOfNetwork((ulong)seed))];
        var built = new byte[threads][][];
        using (var start = new Barrier(threads))
        {
            RunOnThreads(threads, thread =>
            {
                start.SignalAndWait();
                built[thread] = [.. Enumerable.Range(0, buildsEach).Select(_ => WeightsOfNetwork((ulong)thread))];
            });
        }

        for (int thread = 0; thread < threads; thread++)
        {
            for (int build = 0; build < buildsEach; build++)
            {
                TestModels.AssertSameBytes(built[thread][build], alone[thread], $"seed {thread}'s network, build {build + 1} of {buildsEach}");
            }
        }
    }

    [Trains]
    [Test]
    public void TwoRunsOfOneSeedOnTwoThreadsEndAsTheRunAloneWhileAThirdReseedsTheGlobalGenerator()
    {
        (Tensor images, Tensor labels) = Data(24);
        using (images)
        using (labels)
        {
            var options = new TrainerOptions
            {
                Epochs = 2, BatchSize = 4, LearningRate = 0.01, Seed = 5,
                Augmentation = new AugmentationOptions { CropScale = (0.5, 1.0) },
            };
            byte[] alone = TrainedWeights(options, images, labels);

            var together = new byte[2][];
            int running = 2;
            using (var start = new Barrier(3))
            {
                RunOnThreads(3, thread =>
                {
                    start.SignalAndWait();
                    if (thread < 2)
                    {
                        try
                        {
                            together[thread] = TrainedWeights(options, images, labels);
                        }
                        finally
                        {
                            Interlocked.Decrement(ref running);
                        }

                        return;
                    }

                    // What an application's own code may do meanwhile: seed the global generator and draw from it.
                    for (long seed = 0; Volatile.Read(ref running) > 0; seed++)
                    {
                        manual_seed(seed);
                        using Tensor drawn = rand([64]);
                        Thread.Sleep(1);
                    }
                });
            }

            TestModels.AssertSameBytes(together[0], alone, "the first of the two runs at once");
            TestModels.AssertSameBytes(together[1], alone, "the second of the two runs at once");
        }
    }

    private static byte[] WeightsOfNetwork(ulong seed)
    {
        using var network = new BnInception(Model, seed);
        return TestModels.WeightBytes(network);
    }

    private static byte[] TrainedWeights(TrainerOptions options, Tensor images, Tensor labels)
    {
        using TrainingResult result = new BnInceptionTrainer(Model, options).Fit(images, labels);
        Assert.That(result.Model.DropoutGenerator, Is.Null, "the returned network keeps no generator of the run's");
        return TestModels.WeightBytes(result.Model);
    }

    // Runs body(0 … count − 1) on threads of their own, and rethrows the first failure.
    private static void RunOnThreads(int count, Action<int> body)
    {
        var failures = new Exception?[count];
        Thread[] threads = [.. Enumerable.Range(0, count).Select(index => new Thread(() =>
        {
            try
            {
                body(index);
            }
            catch (Exception error)
            {
                failures[index] = error;
            }
        }))];
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        if (failures.FirstOrDefault(failure => failure is not null) is { } first)
        {
            throw new AssertionException($"a thread failed: {first}");
        }
    }

    private static (Tensor Images, Tensor Labels) Data(int count)
    {
        using DisposeScope scope = NewDisposeScope();
        using var generator = new Generator(1234);
        Tensor labels = randint(0, 3, [count], generator: generator);
        // Class-dependent brightness, so that the runs learn something and their weights move.
        Tensor images = randn([count, 1, 64, 64], generator: generator).add(labels.to(ScalarType.Float32).reshape(count, 1, 1, 1), TestTensors.One);
        return (images.DetachFromDisposeScope(), labels.DetachFromDisposeScope());
    }
}
