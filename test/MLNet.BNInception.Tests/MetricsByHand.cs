namespace MLNet.BNInception.Tests;

/// <summary>
/// A multiclass evaluation computed by hand from a scored view's Score and Label columns: the
/// independent reference for what ML.NET's evaluator makes of the model's predictions.
/// </summary>
internal sealed class MetricsByHand
{
    private readonly float[][] _scores;
    private readonly int[] _labels;

    public MetricsByHand(IDataView scored)
    {
        _scores = scored.GetColumn<float[]>("Score").ToArray();
        _labels = scored.GetColumn<uint>("Label").Select(key => (int)key - 1).ToArray();
        Predicted = _scores.Select(s => Array.IndexOf(s, s.Max())).ToArray();
        Assert.That(scored.GetColumn<uint>("PredictedLabel").Select(key => (int)key - 1), Is.EqualTo(Predicted), "PredictedLabel is the top score");
    }

    /// <summary>Each row's class of the highest score, counting from 0.</summary>
    public int[] Predicted { get; }

    /// <summary>The share of rows whose top score is their label's.</summary>
    public double MicroAccuracy => Enumerable.Range(0, _labels.Length).Count(i => Predicted[i] == _labels[i]) / (double)_labels.Length;

    /// <summary>Asserts that every row's scores are a probability distribution: each in [0, 1], summing to 1 to float32's rounding.</summary>
    public void AssertScoresAreProbabilities(string what)
    {
        for (int i = 0; i < _scores.Length; i++)
        {
            Assert.That(_scores[i], Has.All.InRange(0f, 1f), $"{what}, row {i}: the scores");
            Assert.That(_scores[i].Sum(), Is.EqualTo(1).Within(1e-5), $"{what}, row {i}: the scores' sum");
        }
    }

    /// <summary>
    /// Asserts that <paramref name="metrics"/> are the ones these scores give: accuracies, log-loss
    /// (probabilities clamped at 1e-15, as ML.NET does) and its reduction against the labels' prior,
    /// the top-k accuracy when it was asked for, and the confusion matrix.
    /// </summary>
    public void AssertEqual(MulticlassClassificationMetrics metrics, string what)
    {
        int classes = _scores[0].Length, n = _scores.Length, topK = metrics.TopKPredictionCount;
        double[] recall = Enumerable.Range(0, classes).Where(c => _labels.Contains(c))
            .Select(c => Enumerable.Range(0, n).Count(i => _labels[i] == c && Predicted[i] == c) / (double)_labels.Count(l => l == c)).ToArray();
        double logLoss = Enumerable.Range(0, n).Average(i => -Math.Log(Math.Max(_scores[i][_labels[i]], 1e-15)));
        double prior = -Enumerable.Range(0, classes).Select(c => _labels.Count(l => l == c) / (double)n).Where(p => p > 0).Sum(p => p * Math.Log(p));

        Assert.That(metrics.MicroAccuracy, Is.EqualTo(MicroAccuracy).Within(1e-12), $"{what}: micro-accuracy");
        Assert.That(metrics.MacroAccuracy, Is.EqualTo(recall.Average()).Within(1e-12), $"{what}: macro-accuracy");
        Assert.That(metrics.LogLoss, Is.EqualTo(logLoss).Within(1e-6), $"{what}: log-loss");
        Assert.That(metrics.LogLossReduction, Is.EqualTo(1 - (logLoss / prior)).Within(1e-6), $"{what}: log-loss reduction");
        if (topK > 0)
        {
            double topKAccuracy = Enumerable.Range(0, n).Count(i => _scores[i].Count(s => s > _scores[i][_labels[i]]) < topK) / (double)n;
            Assert.That(metrics.TopKAccuracy, Is.EqualTo(topKAccuracy).Within(1e-12), $"{what}: top-{topK} accuracy");
        }

        for (int truth = 0; truth < classes; truth++)
        {
            for (int guess = 0; guess < classes; guess++)
            {
                Assert.That(metrics.ConfusionMatrix.Counts[truth][guess], Is.EqualTo(Enumerable.Range(0, n).Count(i => _labels[i] == truth && Predicted[i] == guess)),
                    $"{what}: confusion count, truth {truth}, predicted {guess}");
            }
        }
    }
}
