using MLNet.BNInception.Engine.Inference;
using TorchSharp.Modules;

namespace MLNet.BNInception.Engine.Tests;

public class InferenceTests
{
    private static BnInception ModelWithNonDefaultBatchNorm(int side = 64, int classes = 10) =>
        TestModels.WithTrainedLikeBatchNorm(new BnInceptionOptions { InputSize = side, NumClasses = classes }, seed: 3);

    [Test]
    public void FoldedNetworkGivesTheSameLogitsAsEvalModeWithBatchNorm()
    {
        using BnInception model = ModelWithNonDefaultBatchNorm();
        using BnInception folded = BatchNormFolding.Fold(model);
        using DisposeScope scope = NewDisposeScope();
        Tensor images = randn([6, 3, 64, 64]);
        using (inference_mode())
        {
            TestModels.AssertCloseToScale(TestModels.Values(folded.call(images)), TestModels.Values(model.call(images)), "folded logits");
        }

        Assert.That(folded.state_dict().Keys, Has.None.Contains(".bn."), "no BN layers remain");
        Assert.That((folded.BatchNormalization, folded.Options.BatchNorm), Is.EqualTo((BatchNormalization.FoldedIntoConvolutions, false)),
            "built without BN layers, and says its BN is folded");
        Assert.That(model.BatchNormalization, Is.EqualTo(BatchNormalization.Layers));
        Assert.That(model.modules().Count(m => m is BatchNorm2d), Is.EqualTo(folded.modules().Count(m => m is Conv2d)));
    }

    [Test]
    public void FoldingRefusesAModelWithoutBatchNorm()
    {
        using var baseline = new BnInception(new BnInceptionOptions { BatchNorm = false, InputSize = 64, NumClasses = 3 });
        Assert.That(baseline.BatchNormalization, Is.EqualTo(BatchNormalization.None));
        Assert.That(Assert.Throws<ArgumentException>(() => BatchNormFolding.Fold(baseline))!.Message, Does.Contain("trained without batch normalization"));
        using var scorer = new BnInceptionScorer(baseline);
        Assert.That(scorer.IsFolded, Is.False, "there was nothing to fold");
    }

    [Test]
    public void EverySettingScoresLikeEvalModeAndBatchingChangesNothing()
    {
        using BnInception model = ModelWithNonDefaultBatchNorm();
        using DisposeScope scope = NewDisposeScope();
        Tensor images = randn([7, 3, 64, 64]);
        float[] reference;
        using (inference_mode())
        {
            reference = TestModels.Values(model.call(images));
        }

        foreach (ScorerOptions options in new ScorerOptions[]
                 {
                     new(), new() { BatchSize = 3 }, new() { ChannelsLast = false }, new() { FoldBatchNorm = false },
                     new() { FoldBatchNorm = false, ChannelsLast = false, BatchSize = 1 },
                 })
        {
            using var scorer = new BnInceptionScorer(model, options);
            Assert.That(scorer.IsFolded, Is.EqualTo(options.FoldBatchNorm));
            Tensor logits = scorer.Logits(images);
            Assert.That(logits.dtype, Is.EqualTo(ScalarType.Float32));
            TestModels.AssertCloseToScale(TestModels.Values(logits), reference, options.ToString());
        }

        using var standard = new BnInceptionScorer(model);
        Tensor probabilities = standard.Probabilities(images);
        Assert.That(TestModels.Values(probabilities.sum([1])), Is.All.EqualTo(1).Within(1e-5));
        (Tensor top, Tensor classes) = standard.TopK(images, 3);
        using Tensor referenceClasses = tensor(reference, [7, 10]).argmax(1);
        Assert.That(classes.select(1, 0).data<long>().ToArray(), Is.EqualTo(referenceClasses.data<long>().ToArray()));
        float[] topValues = TestModels.Values(top);
        for (int row = 0; row < 7; row++)
        {
            Assert.That(topValues[row * 3], Is.GreaterThanOrEqualTo(topValues[(row * 3) + 1]));
        }

        Assert.That(standard.Logits(empty([0, 3, 64, 64])).shape, Is.EqualTo(new long[] { 0, 10 }));
    }

    [Test]
    public void BFloat16ScoringComputesInBFloat16AndStaysCloseToFloat32()
    {
        using BnInception model = ModelWithNonDefaultBatchNorm();
        using var float32 = new BnInceptionScorer(model);
        using var bfloat16 = new BnInceptionScorer(model, new ScorerOptions { Precision = ScoringPrecision.BFloat16 });
        using DisposeScope scope = NewDisposeScope();
        Tensor images = randn([5, 3, 64, 64]);
        float[] exact = TestModels.Values(float32.Logits(images));
        Tensor low = bfloat16.Logits(images);
        Assert.That(low.dtype, Is.EqualTo(ScalarType.Float32), "outputs are float32 whatever the precision");
        float[] approximate = TestModels.Values(low);
        // bfloat16 keeps 8 significant bits: the logits differ, by a few percent of their scale at most.
        TestModels.AssertCloseToScale(approximate, exact, "bfloat16 logits", relative: 0.05);
        Assert.That(approximate, Is.Not.EqualTo(exact), "the computation really ran in bfloat16");
    }

    /// <summary>
    /// A call over many batches holds one batch of images at a time: of each batch, only its logits
    /// are alive when the next begins (counted in TorchSharp's live tensors on the calling thread),
    /// whether the images are resized, cast to bfloat16, or go in as they are.
    /// </summary>
    [TestCase(64, ScoringPrecision.Float32)]
    [TestCase(80, ScoringPrecision.Float32)]
    [TestCase(80, ScoringPrecision.BFloat16)]
    public void EachBatchLeavesOnlyItsLogitsUntilTheCallEnds(int side, ScoringPrecision precision)
    {
        using var model = new BnInception(new BnInceptionOptions { InputSize = 64, InputChannels = 1, NumClasses = 3 }, seed: 1);
        using var scorer = new BnInceptionScorer(model, new ScorerOptions { BatchSize = 2, Precision = precision });
        using Tensor images = rand([10, 1, side, side]);
        var alive = new List<long>();
        scorer.BeforeEachBatch = () => alive.Add(DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount);
        long before = DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;
        using (Tensor logits = scorer.Logits(images))
        {
            Assert.That(logits.shape, Is.EqualTo(new long[] { 10, 3 }));
        }

        Assert.That(alive, Has.Count.EqualTo(5));
        Assert.That(alive.Zip(alive.Skip(1), (earlier, later) => later - earlier), Is.All.EqualTo(1), "one tensor more per batch: its logits");
        Assert.That(DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount, Is.EqualTo(before), "nothing left after the call");
    }

    [Test]
    public void BadSettingsAndDevicesAreClearErrors()
    {
        using BnInception model = ModelWithNonDefaultBatchNorm();
        Assert.That(Assert.Throws<ArgumentException>(() => new BnInceptionScorer(model, new ScorerOptions { BatchSize = 0 }))!.Message,
            Does.Contain("BatchSize must be at least 1"));
        if (!cuda.is_available())
        {
            var error = Assert.Throws<ArgumentException>(() => new BnInceptionScorer(model, new ScorerOptions { Device = "cuda" }));
            Assert.That(error!.Message, Does.Contain("no usable CUDA device").And.Contain("Device = \"cpu\""));
        }

        Assert.That(Assert.Throws<ArgumentException>(() => new BnInceptionScorer(model, new ScorerOptions { Device = "gpu9" }))!.Message,
            Does.Contain("not a device name"));
        using var scorer = new BnInceptionScorer(model);
        using Tensor wrong = randn([2, 3, 96, 48]);
        Assert.That(Assert.Throws<ArgumentException>(() => scorer.Logits(wrong))!.Message,
            Does.Contain("must be N x 3 x H x W with H and W at least 64").And.Contain("got [2, 3, 96, 48]"));
    }

    [Test]
    public void ScorerKeepsItsOwnCopyOfTheWeights()
    {
        using BnInception model = ModelWithNonDefaultBatchNorm();
        using var scorer = new BnInceptionScorer(model);
        using DisposeScope scope = NewDisposeScope();
        Tensor images = randn([2, 3, 64, 64]);
        float[] before = TestModels.Values(scorer.Logits(images));
        using (no_grad())
        {
            model.Classifier.weight.zero_();
        }

        Assert.That(TestModels.Values(scorer.Logits(images)), Is.EqualTo(before));
    }

    [Test]
    public void ScoringFromSeveralThreadsAtOnceGivesTheSingleThreadResults()
    {
        using BnInception model = ModelWithNonDefaultBatchNorm();
        using var scorer = new BnInceptionScorer(model, new ScorerOptions { BatchSize = 2 });
        manual_seed(2);
        Tensor[] inputs = Enumerable.Range(0, 4).Select(_ => randn([3, 3, 64, 64])).ToArray();
        try
        {
            float[][] expected = inputs.Select(input => { using Tensor logits = scorer.Logits(input); return TestModels.Values(logits); }).ToArray();
            var actual = new float[inputs.Length][];
            Parallel.For(0, inputs.Length * 3, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
            {
                using Tensor logits = scorer.Logits(inputs[i % inputs.Length]);
                float[] values = TestModels.Values(logits);
                Assert.That(values, Is.EqualTo(expected[i % inputs.Length]).Within(1e-5));
                actual[i % inputs.Length] = values;
            });
            Assert.That(actual, Is.All.Not.Null);
        }
        finally
        {
            foreach (Tensor input in inputs)
            {
                input.Dispose();
            }
        }
    }

    [Test]
    public void ADisposeDuringACallLetsTheCallFinishWholeAndRefusesLaterCalls()
    {
        using BnInception model = ModelWithNonDefaultBatchNorm();
        var scorer = new BnInceptionScorer(model, new ScorerOptions { BatchSize = 1 });
        manual_seed(3);
        using Tensor images = randn([3, 3, 64, 64]);
        float[] expected;
        using (Tensor logits = scorer.Logits(images))
        {
            expected = TestModels.Values(logits);
        }

        // The call on the other thread stops before its second batch until Dispose has returned.
        using var atSecondBatch = new ManualResetEventSlim();
        using var disposed = new ManualResetEventSlim();
        int batches = 0;
        scorer.BeforeEachBatch = () =>
        {
            if (++batches == 2)
            {
                atSecondBatch.Set();
                disposed.Wait(TimeSpan.FromMinutes(1));
            }
        };
        Task<float[]> call = Task.Run(() =>
        {
            using Tensor logits = scorer.Logits(images);
            return TestModels.Values(logits);
        });
        Assert.That(atSecondBatch.Wait(TimeSpan.FromMinutes(1)), Is.True, "the call reached its second batch");
        scorer.Dispose();
        disposed.Set();

        Assert.That(call.Result, Is.EqualTo(expected).Within(1e-6), "the call under way finished with the weights it began with");
        Assert.Throws<ObjectDisposedException>(() => scorer.Logits(images).Dispose());
    }
}
