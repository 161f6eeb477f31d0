using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Tests;

[Trains]
public class CrossValidateTests : SingleThreadedFixture
{
    private const string LastBatchOfOne = "leave a last batch of 1 image";

    [Test]
    public void TwoFoldCrossValidationTrainsOnEachFoldAndReturnsItsMetrics()
    {
        var ml = new MLContext(seed: 1);
        IDataView data = PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 64));
        var trainer = ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX30 with { Epochs = 1, BatchSize = 8 },
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

    // ML.NET's hash split chooses the folds' sizes: with this context's seed, three folds of 48 rows
    // train on 33 rows in one of them (seen), three batches of 8 and one image. Before, that fold was
    // refused with a BatchSizeMismatchException, and CrossValidate with it; DropLastBatch, which the
    // simple catalog overload cannot set, was the only way through.
    [Test]
    public void AFoldWhoseRowsLeaveALastBatchOfOneTrainsWithoutItsLastImageAndSaysSo()
    {
        var ml = new MLContext(seed: 1);
        List<string> warnings = MLContextWarnings.Collect(ml);
        IDataView data = PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 48));
        var trainer = ml.MulticlassClassification.Trainers.BnInception(imageSize: 64, epochs: 1, batchSize: 8, log: ml);
        var folds = ml.MulticlassClassification.CrossValidate(data, trainer, numberOfFolds: 3);
        try
        {
            long[] trainingRows = folds.Select(fold => 48 - fold.ScoredHoldOutSet.GetColumn<uint>("Label").LongCount()).ToArray();
            long[] lastBatchesOfOne = trainingRows.Where(rows => rows % 8 == 1).ToArray();
            Assert.That(lastBatchesOfOne, Is.Not.Empty, $"the case under test: a fold whose training rows ({string.Join(", ", trainingRows)}) leave a last batch of 1");
            // The log's messages begin with their source, "[Source=BnInception; Training, Kind=Warning] ".
            Assert.That(warnings.Where(warning => warning.Contains(LastBatchOfOne, StringComparison.Ordinal)), Is.EqualTo(lastBatchesOfOne.Select(rows =>
                $"[Source=BnInception; Training, Kind=Warning] {rows} training rows in batches of 8 leave a last batch of 1 image, which batch normalization cannot train on: each epoch leaves out " +
                $"the one image its shuffled order puts last (drawn anew each epoch, so it may repeat) and trains on {rows - 1} of the {rows} rows. Set Training.DropLastBatch " +
                "to drop a short last batch knowingly, or choose a BatchSize that leaves more than one image")), "one warning for each such fold, and none for the others");
            foreach (var fold in folds)
            {
                new MetricsByHand(fold.ScoredHoldOutSet).AssertEqual(fold.Metrics, $"fold {fold.Fold}");
            }
        }
        finally
        {
            foreach (var fold in folds)
            {
                ((IDisposable)fold.Model).Dispose();
            }
        }
    }

    // ValidationFraction's hold-out is drawn row by row from the seed, so it too decides the training rows' count.
    [Test]
    public void AValidationHoldOutThatLeavesALastBatchOfOneTrainsWithoutItsLastImageAndSaysSo()
    {
        var ml = new MLContext(seed: 1);
        List<string> warnings = MLContextWarnings.Collect(ml);
        var steps = new List<TrainingProgress>();
        IDataView data = PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 40));
        var trainer = ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX30 with { Epochs = 1, BatchSize = 7, ValidationFraction = 0.2 },
            MLContext = ml,
            OnStep = steps.Add,
        });
        using BnInceptionPredictionTransformer model = trainer.Fit(data);

        Assert.That(model.TrainingRows, Is.EqualTo(29), "the case under test: 29 rows kept for training (seen), four batches of 7 and one image");
        Assert.That(warnings.Where(warning => warning.Contains(LastBatchOfOne, StringComparison.Ordinal)).ToArray(),
            Has.One.Contains("] 29 training rows in batches of 7 leave a last batch of 1 image"));
        Assert.That(steps.Select(step => step.StepInEpoch), Is.EqualTo(new[] { 1, 2, 3, 4 }), "four steps of 7: the lone image is left out");
        Assert.That(model.History.Single().ValidationLoss, Is.Not.Null, "validated on the held-out rows");
    }

    // The lone image left out is DropLastBatch's: set knowingly on the same rows, the same steps train the same weights, without the warning.
    [Test]
    public void DropLastBatchOnTheSameRowsTrainsTheSameStepsAndWeightsWithoutAWarning()
    {
        var ml = new MLContext(seed: 1);
        List<string> warnings = MLContextWarnings.Collect(ml);
        IDataView data = PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 40));
        (BnInceptionPredictionTransformer Model, int[] Steps, string[] Warnings) Fit(bool dropLastBatch)
        {
            var steps = new List<int>();
            warnings.Clear();
            BnInceptionPredictionTransformer model = ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
            {
                ImageSize = 64,
                Training = TrainerOptions.PaperBnX30 with { Epochs = 1, BatchSize = 7, ValidationFraction = 0.2, DropLastBatch = dropLastBatch },
                MLContext = ml,
                OnStep = progress => steps.Add(progress.StepInEpoch),
            }).Fit(data);
            return (model, steps.ToArray(), warnings.Where(warning => warning.Contains(LastBatchOfOne, StringComparison.Ordinal)).ToArray());
        }

        (BnInceptionPredictionTransformer leftOut, int[] leftOutSteps, string[] leftOutWarnings) = Fit(dropLastBatch: false);
        using (leftOut)
        {
            (BnInceptionPredictionTransformer dropped, int[] droppedSteps, string[] droppedWarnings) = Fit(dropLastBatch: true);
            using (dropped)
            {
                Assert.That(leftOutWarnings, Has.One.Contains("] 29 training rows in batches of 7 leave a last batch of 1 image"), "the case under test");
                Assert.That(droppedWarnings, Is.Empty, "DropLastBatch drops it knowingly");
                Assert.That(droppedSteps, Is.EqualTo(leftOutSteps).And.EqualTo(new[] { 1, 2, 3, 4 }), "four steps of 7 either way");
                Assert.That(dropped.History.Single().ValidationLoss, Is.EqualTo(leftOut.History.Single().ValidationLoss));
                foreach ((string key, TorchSharp.torch.Tensor value) in leftOut.Model.state_dict())
                {
                    Assert.That(TestTensors.SameBytes(dropped.Model.state_dict()[key], value), Is.True, key);
                }
            }
        }
    }

    // docs/walkthrough.md, section 3: its CrossValidate sample is this one, word for word, and disposes every fold's model.
    private static (IReadOnlyList<TrainCatalogBase.CrossValidationResult<MulticlassClassificationMetrics>> Folds, double Accuracy) Sample(
        MLContext ml, IDataView data, IEstimator<ITransformer> pipeline)
    {
        // walkthrough CrossValidate sample start
        var folds = ml.MulticlassClassification.CrossValidate(data, pipeline, numberOfFolds: 5);
        double accuracy = folds.Average(fold => fold.Metrics.MicroAccuracy);
        foreach (var fold in folds) (fold.Model as IDisposable)?.Dispose();
        // walkthrough CrossValidate sample end
        return (folds, accuracy);
    }

    [Test]
    public void TheWalkthroughsCrossValidateSampleRunsAndDisposesEachFoldsModel()
    {
        string walkthrough = File.ReadAllText(Path.Combine(Path.GetDirectoryName(ThisFile())!, "..", "..", "docs", "walkthrough.md"));
        string section = walkthrough[walkthrough.IndexOf("## 3. Evaluate", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", StringComparison.Ordinal)];
        string shown = section[(section.IndexOf("```csharp\n", StringComparison.Ordinal) + "```csharp\n".Length)..];
        shown = shown[..shown.IndexOf("```", StringComparison.Ordinal)];
        string sample = Regex.Match(File.ReadAllText(ThisFile()), @"// walkthrough CrossValidate sample start\n(.*?)// walkthrough CrossValidate sample end", RegexOptions.Singleline).Groups[1].Value;
        Assert.That(Lines(shown), Is.EqualTo(Lines(sample)).And.Not.Empty, "docs/walkthrough.md's CrossValidate sample is this file's, word for word");

        var ml = new MLContext(seed: 1);
        IDataView data = ml.Data.LoadFromEnumerable(PipelineData.FashionRows("train", 40));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.BnInception(imageSize: 64, epochs: 1, batchSize: 8));
        (var folds, double accuracy) = Sample(ml, data, pipeline);

        Assert.That(folds, Has.Count.EqualTo(5));
        Assert.That(accuracy, Is.EqualTo(folds.Average(fold => fold.Metrics.MicroAccuracy)).And.InRange(0, 1));
        foreach (var fold in folds)
        {
            Assert.That(((IEnumerable<ITransformer>)fold.Model).OfType<BnInceptionPredictionTransformer>().Count(), Is.EqualTo(1), $"fold {fold.Fold}'s model holds the network");
            Assert.Throws<ObjectDisposedException>(() => fold.Model.Transform(data), $"fold {fold.Fold}'s model was disposed, its network with it");
        }
    }

    private static string[] Lines(string code) => code.Split('\n').Select(line => line.Trim()).Where(line => line.Length > 0).ToArray();

    private static string ThisFile([CallerFilePath] string path = "") => path;
}
