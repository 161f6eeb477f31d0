using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Tests;

[Trains]
public class CrossValidateTests
{
    [Test]
    public void TwoFoldCrossValidationTrainsOnEachFoldAndReturnsItsMetrics()
    {
        var ml = new MLContext(seed: 1);
        IDataView data = PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 64));
        var trainer = ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX30 with { Epochs = 1, BatchSize = 8, DropLastBatch = true },
        });
        var folds = ml.MulticlassClassification.CrossValidate(data, trainer, numberOfFolds: 2);
        try
        {
            Assert.That(folds, Has.Count.EqualTo(2));
            foreach (var fold in folds)
            {
                // The fold's metrics are those of its own model's scores of its held-out rows, which are probabilities.
                var byHand = new MetricsByHand(fold.ScoredHoldOutSet);
                byHand.AssertScoresAreProbabilities($"fold {fold.Fold}");
                byHand.AssertEqual(fold.Metrics, $"fold {fold.Fold}");
                Assert.That(fold.Metrics.ConfusionMatrix.Counts.Sum(row => row.Sum()), Is.EqualTo(fold.ScoredHoldOutSet.GetColumn<uint>("Label").Count()),
                    "every held-out row was scored and counted");
            }

            long heldOut = folds.Sum(fold => fold.ScoredHoldOutSet.GetColumn<uint>("Label").LongCount());
            Assert.That(heldOut, Is.EqualTo(64), "the two folds hold out every row once");
        }
        finally
        {
            foreach (var fold in folds)
            {
                ((IDisposable)fold.Model).Dispose();
            }
        }
    }
}
