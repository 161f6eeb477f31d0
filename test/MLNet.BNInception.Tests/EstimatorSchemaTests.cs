using Microsoft.ML.Transforms.Image;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Trainers;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Tests;

/// <summary>
/// What the estimator promises before training (<c>GetOutputSchema</c> on a <c>SchemaShape</c>) is
/// what the fitted transformer gives: the same columns with the same kinds, types, key-ness and
/// annotations. ML.NET builds pipelines, and tools such as AutoML check them, from the promise alone.
/// </summary>
[Trains]
public class EstimatorSchemaTests
{
    [Test]
    public void TheEstimatorsPromisedSchemaIsTheFittedModelsSchema()
    {
        var ml = new MLContext(seed: 1);
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(work.File("data"), 16, 1, 1);
        // A text loader is an IDataLoader, and appending an estimator to one gives a loader estimator
        // whose GetOutputSchema() is the chain's promise: ML.NET's public way to a SchemaShape.
        TextLoader loader = ml.Data.CreateTextLoader([new("ImagePath", DataKind.String, 0), new("Label", DataKind.String, 1)], separatorChar: ',', hasHeader: true);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", files.ImageFolder, "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", 64, 64))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255))
            .Append(ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
            {
                ImageSize = 64,
                Training = TrainerOptions.PaperBnX5 with { Epochs = 1, BatchSize = 8, Seed = 1, Augmentation = AugmentationOptions.None },
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

        SchemaShape promised = loader.Append(pipeline).GetOutputSchema();
        using var model = pipeline.Fit(loader.Load(files.TrainCsv));
        DataViewSchema fitted = model.GetOutputSchema(loader.GetOutputSchema());

        string[] visible = fitted.Where(column => !column.IsHidden).Select(column => column.Name).ToArray();
        Assert.That(promised.Select(column => column.Name), Is.EquivalentTo(visible));
        Assert.That(promised.Select(column => column.Name), Does.Contain("Score").And.Contain("PredictedLabel"));
        foreach (SchemaShape.Column column in promised)
        {
            DataViewSchema.Column actual = fitted[column.Name];
            Assert.That(Describe(column), Is.EqualTo(Describe(actual.Type)), $"{column.Name}'s type");
            string[] promisedAnnotations = column.Annotations.Select(annotation => $"{annotation.Name}: {Describe(annotation)}").Order(StringComparer.Ordinal).ToArray();
            string[] actualAnnotations = actual.Annotations.Schema.Select(annotation => $"{annotation.Name}: {Describe(annotation.Type)}").Order(StringComparer.Ordinal).ToArray();
            Assert.That(actualAnnotations, Is.EqualTo(promisedAnnotations), $"{column.Name}'s annotations");
        }
    }

    // A shape as its kind (scalar, vector of known size, vector of unknown size), its item type and
    // whether that is a key (a shape holds a key's underlying integer type).
    private static string Describe(SchemaShape.Column column) => $"{column.Kind} of {column.ItemType.RawType.Name}{(column.IsKey ? " key" : "")}";

    // A column type as the shape ML.NET's documentation of SchemaShape.Column describes for it.
    private static string Describe(DataViewType type)
    {
        (SchemaShape.Column.VectorKind kind, DataViewType item) = type is VectorDataViewType vector
            ? (vector.IsKnownSize ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.VariableVector, vector.ItemType)
            : (SchemaShape.Column.VectorKind.Scalar, type);
        return $"{kind} of {item.RawType.Name}{(item is KeyDataViewType ? " key" : "")}";
    }
}
