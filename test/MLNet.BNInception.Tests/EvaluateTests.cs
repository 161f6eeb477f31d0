using MLNet.BNInception.Scoring;

namespace MLNet.BNInception.Tests;

/// <summary>
/// ML.NET's Evaluate on the model's predictions gives the metrics computed by hand from the same
/// scores: the Score and PredictedLabel columns are what ML.NET's evaluator expects.
/// </summary>
[Trains]
public class EvaluateTests
{
    [Test]
    public void MetricsEqualTheOnesComputedByHandFromTheScores()
    {
        (MLContext ml, _, BnInceptionPredictionTransformer model) = TrainedModel.Shared;
        IDataView scored = model.Transform(PipelineData.KeyedView(ml, PipelineData.FashionRows("t10k", 60)));
        const int topK = 3;
        MulticlassClassificationMetrics metrics = ml.MulticlassClassification.Evaluate(scored, topKPredictionCount: topK);

        float[][] scores = scored.GetColumn<float[]>("Score").ToArray();
        int[] labels = scored.GetColumn<uint>("Label").Select(key => (int)key - 1).ToArray();
        int classes = scores[0].Length, n = scores.Length;
        int[] predicted = scores.Select(s => Array.IndexOf(s, s.Max())).ToArray();
        Assert.That(scored.GetColumn<uint>("PredictedLabel").Select(key => (int)key - 1), Is.EqualTo(predicted), "PredictedLabel is the top score");

        double micro = Enumerable.Range(0, n).Count(i => predicted[i] == labels[i]) / (double)n;
        double[] recall = Enumerable.Range(0, classes).Where(c => labels.Contains(c))
            .Select(c => Enumerable.Range(0, n).Count(i => labels[i] == c && predicted[i] == c) / (double)labels.Count(l => l == c)).ToArray();
        double logLoss = Enumerable.Range(0, n).Average(i => -Math.Log(Math.Max(scores[i][labels[i]], 1e-15)));
        double prior = -Enumerable.Range(0, classes).Select(c => labels.Count(l => l == c) / (double)n).Where(p => p > 0).Sum(p => p * Math.Log(p));
        double topKAccuracy = Enumerable.Range(0, n).Count(i => scores[i].Count(s => s > scores[i][labels[i]]) < topK) / (double)n;

        Assert.That(metrics.MicroAccuracy, Is.EqualTo(micro).Within(1e-12));
        Assert.That(metrics.MacroAccuracy, Is.EqualTo(recall.Average()).Within(1e-12));
        Assert.That(metrics.LogLoss, Is.EqualTo(logLoss).Within(1e-6));
        Assert.That(metrics.LogLossReduction, Is.EqualTo(1 - (logLoss / prior)).Within(1e-6));
        Assert.That(metrics.TopKAccuracy, Is.EqualTo(topKAccuracy).Within(1e-12));
        for (int truth = 0; truth < classes; truth++)
        {
            for (int guess = 0; guess < classes; guess++)
            {
                Assert.That(metrics.ConfusionMatrix.Counts[truth][guess], Is.EqualTo(Enumerable.Range(0, n).Count(i => labels[i] == truth && predicted[i] == guess)),
                    $"confusion count, truth {truth}, predicted {guess}");
            }
        }

        Assert.That(predicted.Distinct().Count(), Is.GreaterThan(2), "several classes are predicted, so the per-class figures are not trivial");
        Assert.That(micro, Is.InRange(0.05, 0.95), "some predictions are right and some wrong");
    }
}
