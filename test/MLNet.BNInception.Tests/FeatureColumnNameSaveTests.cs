using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.ModelFiles;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Tests;

/// <summary>
/// A model file's network takes its input under the features column's name (ML.NET's
/// OnnxTransformer matches the two): a name the network's graph uses inside saves and loads, and a
/// name of one of the graph's weights is refused, naming the column and what to do.
/// </summary>
[Trains]
public class FeatureColumnNameSaveTests
{
    // One epoch of 16 images in batches of 8: what a model needs to be saved, not to be good.
    private static (MLContext Ml, IDataView Rows, ITransformer Model) Train(string featureColumn)
    {
        var ml = new MLContext(seed: 1);
        IDataView rows = ml.Transforms.CopyColumns(featureColumn, "Features")
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
            .Fit(ml.Data.LoadFromEnumerable(PipelineData.FashionRows("train", 16)))
            .Transform(ml.Data.LoadFromEnumerable(PipelineData.FashionRows("train", 16)));
        ITransformer model = ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64,
            FeatureColumnName = featureColumn,
            Training = TrainerOptions.PaperBnX5 with { Epochs = 1, BatchSize = 8, Seed = 3, Augmentation = AugmentationOptions.None },
        }).Fit(rows);
        return (ml, rows, model);
    }

    // 'pool1' names the first max pooling's output inside the graph.
    [Test]
    public void AColumnNamedAsAValueInsideTheGraphSavesAndLoadsToTheSameScores()
    {
        using var folder = new TemporaryDirectory();
        (MLContext ml, IDataView rows, ITransformer model) = Train("pool1");
        using var owned = (IDisposable)model;
        float[][] scores = model.Transform(rows).GetColumn<float[]>("Score").ToArray();
        string path = folder.File("model.zip");
        ml.Model.Save(model, rows.Schema, path);

        var loaded = (TransformerChain<ITransformer>)BnInceptionModelFile.Load(ml, path, out _);
        using var loadedOwned = (IDisposable)loaded;
        float[][] reloaded = loaded.Transform(rows).GetColumn<float[]>("Score").ToArray();
        for (int i = 0; i < scores.Length; i++)
        {
            Assert.That(reloaded[i], Is.EqualTo(scores[i]).Within(1e-4f), $"row {i}");
        }
    }

    // To a stream: ML.NET's Model.Save to a path opens the file before the model writes itself, and
    // leaves what it wrote (docs/walkthrough.md says to save to a temporary name and rename).
    [Test]
    public void AColumnNamedAsOneOfTheWeightsIsRefusedNamingTheColumn()
    {
        (MLContext ml, IDataView rows, ITransformer model) = Train("fc.weight");
        using var owned = (IDisposable)model;
        using var file = new MemoryStream();
        var error = Assert.Throws<InvalidOperationException>(() => ml.Model.Save(model, rows.Schema, file))!;
        Assert.That(error.Message, Does.StartWith("The model cannot be saved with its features column named 'fc.weight'")
            .And.Contain("Give the features column another name in the pipeline"));
    }
}
