using MLNet.BNInception.Scoring;

namespace MLNet.BNInception.Tests;

/// <summary>
/// ML.NET's Evaluate on the model's predictions gives the metrics computed by hand from the same
/// scores (MetricsByHand): the Score and PredictedLabel columns are what ML.NET's evaluator expects,
/// and the scores are probabilities.
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

        var byHand = new MetricsByHand(scored);
        byHand.AssertScoresAreProbabilities("the scores");
        byHand.AssertEqual(metrics, "ML.NET's evaluation");
        Assert.That(metrics.TopKPredictionCount, Is.EqualTo(topK));
        Assert.That(byHand.Predicted.Distinct().Count(), Is.GreaterThan(2), "several classes are predicted, so the per-class figures are not trivial");
        Assert.That(byHand.MicroAccuracy, Is.InRange(0.05, 0.95), "some predictions are right and some wrong");
    }
}
