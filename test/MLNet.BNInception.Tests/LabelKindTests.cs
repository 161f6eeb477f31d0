using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.ModelFiles;
using MLNet.BNInception.Scoring;

namespace MLNet.BNInception.Tests;

/// <summary>
/// Labels that are not text: numbers mapped to keys, and keys without key values. The model saves
/// and loads with PredictedLabel of the label's key type and values; other key types are refused.
/// </summary>
public class LabelKindTests
{
    private sealed class NumberRow
    {
        [VectorType(1, 64, 64)]
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }

    // LoadFromEnumerable takes raw values below the key count, so ten classes 1..10 need a count of 11.
    private sealed class KeyRow
    {
        [VectorType(1, 64, 64)]
        public float[] Features { get; set; } = [];

        [KeyType(11)]
        public uint Label { get; set; }
    }

    private sealed class ByteKeyRow
    {
        [VectorType(1, 64, 64)]
        public float[] Features { get; set; } = new float[4096];

        [KeyType(10)]
        public byte Label { get; set; } = 1;
    }

    private static (PipelineData.PixelRow[] Train, PipelineData.PixelRow[] Test) Rows() =>
        (PipelineData.FashionRows("train", 96), PipelineData.FashionRows("t10k", 24));

    private static int ClassOf(string name) => Array.IndexOf(PipelineData.ClassNames, name);

    [Trains]
    [Test]
    public void NumbersMappedToKeysSaveAndLoadWithTheirKeyValues()
    {
        var ml = new MLContext(seed: 1);
        (PipelineData.PixelRow[] train, PipelineData.PixelRow[] test) = Rows();
        IDataView trainView = ml.Data.LoadFromEnumerable(train.Select(r => new NumberRow { Features = r.Features, Label = ClassOf(r.Label) * 1.5f }));
        IDataView testView = ml.Data.LoadFromEnumerable(test.Select(r => new NumberRow { Features = r.Features, Label = ClassOf(r.Label) * 1.5f }));
        var keys = ml.Transforms.Conversion.MapValueToKey("Label").Fit(trainView);
        AssertSavedModelPredictsTheSame(ml, keys.Transform(trainView), keys.Transform(testView), keyValues: true);
    }

    [Trains]
    [Test]
    public void KeysWithoutKeyValuesSaveAndLoadWithTheSameKeys()
    {
        var ml = new MLContext(seed: 1);
        (PipelineData.PixelRow[] train, PipelineData.PixelRow[] test) = Rows();
        IDataView trainView = ml.Data.LoadFromEnumerable(train.Select(r => new KeyRow { Features = r.Features, Label = (uint)ClassOf(r.Label) + 1 }));
        IDataView testView = ml.Data.LoadFromEnumerable(test.Select(r => new KeyRow { Features = r.Features, Label = (uint)ClassOf(r.Label) + 1 }));
        Assert.That(trainView.Schema["Label"].HasKeyValues(), Is.False);
        AssertSavedModelPredictsTheSame(ml, trainView, testView, keyValues: false);
    }

    [Test]
    public void AKeyThatIsNotUInt32IsRefusedWithTheFix()
    {
        var ml = new MLContext(seed: 1);
        IDataView data = ml.Data.LoadFromEnumerable(new[] { new ByteKeyRow(), new ByteKeyRow() });
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.BnInception(imageSize: 64).Fit(data));
        Assert.That(error!.Message, Does.Contain("Label is Key<Byte").And.Contain("a key of UInt32").And.Contain("MapValueToKey"));
    }

    private static void AssertSavedModelPredictsTheSame(MLContext ml, IDataView train, IDataView test, bool keyValues)
    {
        using BnInceptionPredictionTransformer model = TrainedModel.Train(ml, train);
        IDataView scored = model.Transform(test);
        uint[] predicted = scored.GetColumn<uint>("PredictedLabel").ToArray();
        using var folder = new TemporaryDirectory();
        ml.Model.Save(model, test.Schema, folder.File("model.zip"));
        using var loaded = (TransformerChain<ITransformer>)BnInceptionModelFile.Load(ml, folder.File("model.zip"), out _);
        IDataView reloaded = loaded.Transform(test);

        Assert.That(reloaded.Schema["PredictedLabel"].Type, Is.EqualTo(test.Schema["Label"].Type), "the label's key type");
        Assert.That(reloaded.GetColumn<uint>("PredictedLabel").ToArray(), Is.EqualTo(predicted));
        Assert.That(ml.MulticlassClassification.Evaluate(reloaded).MicroAccuracy, Is.EqualTo(ml.MulticlassClassification.Evaluate(scored).MicroAccuracy));
        if (keyValues)
        {
            VBuffer<float> expected = default, actual = default;
            test.Schema["Label"].GetKeyValues(ref expected);
            reloaded.Schema["PredictedLabel"].GetKeyValues(ref actual);
            Assert.That(actual.DenseValues(), Is.EqualTo(expected.DenseValues()), "the label's key values, as numbers");
        }
    }
}
