using MLNet.BNInception;
using MLNet.BNInception.Trainers;
using MLNet.BNInception.Training;

namespace MLNet.BNInception.Tests;

public class SmokeTests
{
    [Test]
    public void FitsTransformsEvaluatesSavesAndLoads()
    {
        var ml = new MLContext(seed: 1);
        IDataView train = PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 64));
        IDataView test = PipelineData.KeyedView(ml, PipelineData.FashionRows("t10k", 20));
        var trainer = ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64, Epochs = 1, BatchSize = 16, MLContext = ml,
        });
        ml.Log += (_, e) => { if (e.Source.Contains("BnInception")) TestContext.Out.WriteLine(e.Message); };
        using BnInceptionPredictionTransformer model = trainer.Fit(train);
        IDataView scored = model.Transform(test);
        var metrics = ml.MulticlassClassification.Evaluate(scored);
        TestContext.Out.WriteLine($"accuracy {metrics.MicroAccuracy}, log-loss {metrics.LogLoss}");
        TestContext.Out.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());
        using var folder = new TemporaryDirectory();
        ml.Model.Save(model, test.Schema, folder.File("model.zip"));
        ITransformer loaded = ml.Model.Load(folder.File("model.zip"), out _);
        var reloaded = ml.MulticlassClassification.Evaluate(loaded.Transform(test));
        Assert.That(reloaded.MicroAccuracy, Is.EqualTo(metrics.MicroAccuracy));
        Assert.That(reloaded.LogLoss, Is.EqualTo(metrics.LogLoss).Within(1e-4));
    }
}
