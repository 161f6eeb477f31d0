using MLNet.BNInception.Inference;
using MLNet.BNInception.Torch.Modules;

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
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor images = torch.randn([6, 3, 64, 64]);
        float[] expected, actual;
        using (torch.inference_mode())
        {
            expected = model.call(images).ToArray<float>();
            actual = folded.call(images).ToArray<float>();
        }

        double scale = expected.Max(Math.Abs);
        double worst = expected.Zip(actual, (a, b) => Math.Abs(a - b)).Max();
        Assert.That(worst, Is.LessThan(1e-4 * scale), $"max |difference| {worst:G3} at logit scale {scale:G3}");
        Assert.That(folded.state_dict().Select(p => p.Key), Has.None.Contains(".bn."), "no BN layers remain");
        Assert.That(model.named_modules().Count(m => m.Value is BatchNorm2d), Is.EqualTo(folded.named_modules().Count(m => m.Value is Conv2d)));
    }

    [Test]
    public void FoldingRefusesAModelWithoutBatchNorm()
    {
        using var baseline = new BnInception(new BnInceptionOptions { BatchNorm = false, InputSize = 64, NumClasses = 3 });
        Assert.Throws<ArgumentException>(() => BatchNormFolding.Fold(baseline));
    }

    [Test]
    public void ScorerBatchesWithoutChangingResultsAndGivesProbabilities()
    {
        using BnInception model = ModelWithNonDefaultBatchNorm();
        using var wholeBatch = new BnInceptionScorer(model, batchSize: 64);
        using var smallBatches = new BnInceptionScorer(model, batchSize: 3);
        using var unfolded = new BnInceptionScorer(model, foldBatchNorm: false);
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor images = torch.randn([7, 3, 64, 64]);

        float[] reference = wholeBatch.Logits(images).ToArray<float>();
        Assert.That(smallBatches.Logits(images).ToArray<float>(), Is.EqualTo(reference).Within(1e-4));
        Assert.That(unfolded.Logits(images).ToArray<float>(), Is.EqualTo(reference).Within(1e-3));
        Assert.That(wholeBatch.IsFolded && !unfolded.IsFolded, Is.True);

        Tensor probabilities = wholeBatch.Probabilities(images);
        Assert.That(probabilities.sum([1]).ToArray<float>(), Is.All.EqualTo(1).Within(1e-5));
        (Tensor top, Tensor classes) = wholeBatch.TopK(images, 3);
        Assert.That(classes.select(1, 0).ToArray<long>(), Is.EqualTo(torch.tensor(reference, 7, 10).argmax(1).ToArray<long>()));
        float[] topValues = top.ToArray<float>();
        for (int row = 0; row < 7; row++)
        {
            Assert.That(topValues[row * 3], Is.GreaterThanOrEqualTo(topValues[(row * 3) + 1]));
        }
    }

    [Test]
    public void ScorerKeepsItsOwnCopyOfTheWeights()
    {
        using BnInception model = ModelWithNonDefaultBatchNorm();
        using var scorer = new BnInceptionScorer(model);
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor images = torch.randn([2, 3, 64, 64]);
        float[] before = scorer.Logits(images).ToArray<float>();
        using (torch.no_grad())
        {
            model.Classifier.weight.fill_(0);
        }

        Assert.That(scorer.Logits(images).ToArray<float>(), Is.EqualTo(before));
    }

    [Test]
    public void ScoringFromSeveralThreadsAtOnceGivesTheSingleThreadResults()
    {
        using BnInception model = ModelWithNonDefaultBatchNorm();
        using var scorer = new BnInceptionScorer(model, batchSize: 2);
        torch.manual_seed(2);
        Tensor[] inputs = Enumerable.Range(0, 4).Select(_ => torch.randn([3, 3, 64, 64])).ToArray();
        try
        {
            float[][] expected = inputs.Select(input => { using Tensor logits = scorer.Logits(input); return logits.ToArray<float>(); }).ToArray();
            var actual = new float[inputs.Length][];
            Parallel.For(0, inputs.Length * 3, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
            {
                using Tensor logits = scorer.Logits(inputs[i % inputs.Length]);
                float[] values = logits.ToArray<float>();
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
}
