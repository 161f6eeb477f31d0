using Microsoft.ML.Transforms.Image;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.ModelFiles;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Tests;

/// <summary>
/// The trainer's ImageSize larger than its InputSize: images resized to 96×96 by the pipeline feed a
/// network of side 64, which resizes them inside for validation and scoring; the saved model takes
/// the same 96×96 pixels and scores the same after Model.Load; wrong settings name themselves.
/// </summary>
public class LargerImageTests
{
    private sealed class Prediction
    {
        public float[] Score { get; set; } = [];
    }

    [Test]
    public void APipelineOfLargerImagesFitsScoresAndScoresTheSameAfterLoad()
    {
        var ml = new MLContext(seed: 1);
        using var work = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(work.File("data"), 16, 8, 8);
        TextLoader loader = ml.Data.CreateTextLoader([new("ImagePath", DataKind.String, 0), new("Label", DataKind.String, 1)], separatorChar: ',', hasHeader: true);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", files.ImageFolder, "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", 96, 96))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255))
            .Append(ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
            {
                ImageSize = 96,
                InputSize = 64,
                // Augmentation on: the random crops are cut from the 96 x 96 images.
                Training = TrainerOptions.PaperBnX5 with { Epochs = 1, BatchSize = 8, Seed = 1, ValidationFraction = 0.25 },
            }));

        SchemaShape promised = loader.Append(pipeline).GetOutputSchema();
        IDataView train = loader.Load(files.TrainCsv), test = loader.Load(files.TestCsv);
        var model = pipeline.Fit(train);
        BnInceptionPredictionTransformer network = model.LastTransformer;
        try
        {
            Assert.That((network.ImageSize, network.InputSize, network.Model.Options.InputSize), Is.EqualTo((96, 64, 64)));
            Assert.That(network.History.Single().ValidationLoss, Is.Not.Null, "validated on the held-out 96 x 96 images");

            // What the estimator promised is what the fitted model gives: the same columns and types.
            DataViewSchema fitted = model.GetOutputSchema(loader.GetOutputSchema());
            Assert.That(promised.Select(column => column.Name), Is.EquivalentTo(fitted.Where(column => !column.IsHidden).Select(column => column.Name)));
            foreach (SchemaShape.Column column in promised)
            {
                DataViewType actual = fitted[column.Name].Type;
                Assert.That((column.ItemType.RawType, column.Kind == SchemaShape.Column.VectorKind.Vector), Is.EqualTo(
                    (actual is VectorDataViewType vector ? vector.ItemType.RawType : actual.RawType, actual is VectorDataViewType { IsKnownSize: true })), column.Name);
            }

            IDataView scored = model.Transform(test);
            float[][] scores = scored.GetColumn<float[]>("Score").ToArray();
            uint[] labels = scored.GetColumn<uint>("PredictedLabel").ToArray();
            Assert.That(scores, Has.Length.EqualTo(8));
            Assert.That(scores.Select(row => row.Length), Has.All.EqualTo(network.ClassNames.Count));
            Assert.That(scores.Select(row => row.Sum()), Has.All.EqualTo(1f).Within(1e-4f));

            string path = work.File("model.zip");
            ml.Model.Save(model, train.Schema, path);
            var loaded = (TransformerChain<ITransformer>)BnInceptionModelFile.Load(ml, path, out _);
            try
            {
                IDataView reloaded = loaded.Transform(test);
                float[][] again = reloaded.GetColumn<float[]>("Score").ToArray();
                Assert.That(again, Has.Length.EqualTo(scores.Length));
                for (int i = 0; i < scores.Length; i++)
                {
                    double worst = again[i].Zip(scores[i], (a, b) => Math.Abs(a - b)).Max();
                    Assert.That(worst, Is.LessThan(1e-4 * scores[i].Max()), $"row {i}: the loaded model's scores");
                }

                Assert.That(reloaded.GetColumn<uint>("PredictedLabel").ToArray(), Is.EqualTo(labels));
            }
            finally
            {
                loaded.Dispose();
            }
        }
        finally
        {
            network.Dispose();
        }
    }

    [Test]
    public void ImagesSmallerThanTheNetworkOrAnInputSizeItCannotTakeAreRefusedByName()
    {
        var ml = new MLContext(seed: 1);
        var smaller = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options { ImageSize = 64, InputSize = 96 }));
        Assert.That(smaller!.ParamName, Is.EqualTo("ImageSize"));
        Assert.That(smaller.Message, Does.Contain("ImageSize 64 does not fit InputSize 96").And.Contain("at least the network's side (96)"));

        var invalid = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options { ImageSize = 256, InputSize = 100 }));
        Assert.That(invalid!.ParamName, Is.EqualTo("InputSize"));
        Assert.That(invalid.Message, Does.Contain("InputSize 100 is not supported").And.Contain("multiple of 32"));

        // Larger images need not follow the network's rule; without InputSize, ImageSize is the network's side and must.
        Assert.That(ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options { ImageSize = 100, InputSize = 64 }).Settings.InputSize,
            Is.EqualTo(64));
        var unset = Assert.Throws<ArgumentOutOfRangeException>(() =>
            ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options { ImageSize = 100 }));
        Assert.That(unset!.Message, Does.Contain("ImageSize 100 is not supported").And.Contain("set InputSize"));
    }
}
