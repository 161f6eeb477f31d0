using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Tests;

/// <summary>The trainer checks the label and features columns before it reads a row, and names what is wrong.</summary>
public class TrainerSchemaTests
{
    private static readonly MLContext Ml = new(seed: 1);

    private sealed class ColorRow
    {
        [VectorType(3, 64, 64)]
        public float[] Features { get; set; } = new float[3 * 64 * 64];

        public string Label { get; set; } = "";
    }

    private sealed class InterleavedRow
    {
        [VectorType(64, 64, 3)]
        public float[] Features { get; set; } = new float[3 * 64 * 64];

        public uint Label { get; set; }
    }

    private sealed class FlatRow
    {
        [VectorType(5000)]
        public float[] Pixels { get; set; } = new float[5000];

        [KeyType(4)]
        public uint Class { get; set; } = 1;
    }

    private static string FitError(IDataView data, BnInceptionMulticlassTrainer.Options options)
    {
        var recorded = new RecordingDataView(data);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Ml.MulticlassClassification.Trainers.BnInception(options).Fit(recorded));
        Assert.That(recorded.Cursors, Is.Empty, "no row was read before the schema was refused");
        return error!.Message;
    }

    private static IDataView Colour(int rows = 4) => Ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(i => new ColorRow { Label = $"c{i % 2}" }));

    [Test]
    public void ALabelThatIsNotAKeyIsRefusedWithTheFix()
    {
        string message = FitError(Colour(), new BnInceptionMulticlassTrainer.Options { ImageSize = 64 });
        Assert.That(message, Does.Contain("Label is String").And.Contain("a key type with at least 2 classes").And.Contain("MapValueToKey(\"Label\")"));
    }

    [Test]
    public void AKeyOfOneClassIsRefused()
    {
        IDataView keyed = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(Ml.Data.LoadFromEnumerable(new[] { new ColorRow { Label = "only" } }))
            .Transform(Ml.Data.LoadFromEnumerable(new[] { new ColorRow { Label = "only" } }));
        Assert.That(FitError(keyed, new BnInceptionMulticlassTrainer.Options { ImageSize = 64 }), Does.Contain("of 1 class").And.Contain("at least 2 classes").And.Not.Contain("MapValueToKey"),
            "the labels are keys already: mapping them again would not help");
    }

    [Test]
    public void FeaturesOfAnotherSizeNameTheSizesAndTheFixes()
    {
        IDataView keyed = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(Colour()).Transform(Colour());
        string message = FitError(keyed, new BnInceptionMulticlassTrainer.Options { ImageSize = 96 });
        Assert.That(message, Does.Contain("Features has 12288 values (3×64×64)").And.Contain("27648 (3×96×96, colour)").And.Contain("ImageSize 96"));

        IDataView flat = Ml.Data.LoadFromEnumerable(new[] { new FlatRow() });
        string flatMessage = FitError(flat, new BnInceptionMulticlassTrainer.Options { ImageSize = 64, LabelColumnName = "Class", FeatureColumnName = "Pixels" });
        Assert.That(flatMessage, Does.Contain("Pixels has 5000 values").And.Contain("12288 (3×64×64, colour) or 4096 (1×64×64, grayscale)")
            .And.Contain("set ImageSize").And.Contain("ResizeImages"));
    }

    [Test]
    public void InterleavedPixelsAreRefused()
    {
        IDataView data = Ml.Data.LoadFromEnumerable(new[] { new InterleavedRow { Label = 1 } });
        IDataView keyed = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
        Assert.That(FitError(keyed, new BnInceptionMulticlassTrainer.Options { ImageSize = 64 }), Does.Contain("interleaved").And.Contain("interleavePixelColors"));
    }

    [Test]
    public void MissingColumnsAreNamed()
    {
        IDataView keyed = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(Colour()).Transform(Colour());
        Assert.That(FitError(keyed, new BnInceptionMulticlassTrainer.Options { ImageSize = 64, LabelColumnName = "Class" }),
            Does.Contain("no label column Class"));
        Assert.That(FitError(keyed, new BnInceptionMulticlassTrainer.Options { ImageSize = 64, FeatureColumnName = "Pixels" }),
            Does.Contain("no features column Pixels"));
    }

    private sealed class ManyClassesRow
    {
        [VectorType(1, 64, 64)]
        public float[] Features { get; set; } = new float[64 * 64];

        [KeyType(500_001)]
        public uint Label { get; set; } = 1;
    }

    [Test]
    public void AKeyOfMoreClassesThanAModelFileHoldsIsRefused()
    {
        string message = FitError(Ml.Data.LoadFromEnumerable(new[] { new ManyClassesRow() }), new BnInceptionMulticlassTrainer.Options { ImageSize = 64 });
        Assert.That(message, Does.StartWith("Label is a key of 500,001 classes; a model has at most 500,000: a saved model holds its network as one ONNX message"));
    }

    [TestCase("BnInception.Probabilities")]
    [TestCase("BnInception.Class")]
    [TestCase("BnInception.Cluster")]
    public void AColumnNamedAsTheSavedModelsOwnColumnsIsRefused(string name)
    {
        IDataView keyed = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(Colour()).Transform(Colour());
        IDataView named = Ml.Transforms.CopyColumns(name, "Label").Fit(keyed).Transform(keyed);
        Assert.That(FitError(named, new BnInceptionMulticlassTrainer.Options { ImageSize = 64 }),
            Does.StartWith($"The training data has a column '{name}', a name the saved model gives columns of its own and then drops"));
    }

    [TestCase(BnInceptionPreset.BnX5)]
    [TestCase(BnInceptionPreset.BnX30)]
    public void APresetIsTheEnginesOfTheSameName(BnInceptionPreset preset)
    {
        var engine = (TrainingPreset)preset;
        Assert.That(engine.ToString(), Is.EqualTo(preset.ToString()));
        BnInceptionMulticlassTrainer trainer = Ml.MulticlassClassification.Trainers.BnInception(preset: preset, epochs: 2, batchSize: 8);
        Assert.That(trainer.Settings.Training, Is.EqualTo(TrainerOptions.For(engine) with { Epochs = 2, BatchSize = 8 }));
    }

    [Test]
    public void AnImageSizeTheNetworkCannotTakeIsRefusedWhenTheTrainerIsMade()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Ml.MulticlassClassification.Trainers.BnInception(imageSize: 100));
        Assert.That(error!.Message, Does.Contain("ImageSize 100 is not supported").And.Contain("multiple of 32"));
    }

    [Test]
    public void AValidationRowWithoutALabelIsRefusedBeforeTheFirstStep()
    {
        // The key mapping fitted on the training rows knows c0 and c1; the validation list's third row is c2.
        IDataView train = Colour(8);
        IDataView validation = Ml.Data.LoadFromEnumerable(new[] { "c0", "c1", "c2", "c0" }.Select(label => new ColorRow { Label = label }));
        ITransformer keys = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(train);
        int steps = 0;
        var options = new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX5 with { Epochs = 1, BatchSize = 4 },
            OnStep = _ => steps++,
        };
        var error = Assert.Throws<InvalidDataException>(() => Ml.MulticlassClassification.Trainers.BnInception(options).Fit(keys.Transform(train), keys.Transform(validation)))!;
        Assert.That(error.Message, Does.StartWith("Row 2 of the validation data (0-based, in the source's order) has no label: Label is missing there"));
        Assert.That(steps, Is.Zero, "refused before a step was trained, not after the epoch that a validation pass follows");
    }

    [Test]
    public void ValidationDataKeyedApartIsRefusedNamingTheFirstClassesOfEach()
    {
        // Each list keyed by its own MapValueToKey: 30 classes and 31. Both lists were joined whole, two lists of
        // 1,000 names at ImageNet scale; the first 20 of each are named, and how many more there are.
        IDataView train = Ml.Data.LoadFromEnumerable(Enumerable.Range(0, 30).Select(i => new ColorRow { Label = $"c{i}" }));
        IDataView validation = Ml.Data.LoadFromEnumerable(Enumerable.Range(0, 31).Select(i => new ColorRow { Label = $"c{i}" }));
        IDataView keyedTrain = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(train).Transform(train);
        IDataView keyedValidation = Ml.Transforms.Conversion.MapValueToKey("Label").Fit(validation).Transform(validation);
        var options = new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX5 with { Epochs = 1, BatchSize = 4 },
        };

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => Ml.MulticlassClassification.Trainers.BnInception(options).Fit(keyedTrain, keyedValidation))!;

        string first20 = string.Join(", ", Enumerable.Range(0, 20).Select(i => $"c{i}"));
        Assert.That(error.Message, Does.StartWith(
            $"The validation data's classes ({first20}, … and 11 more classes) and images (3x64x64) differ from the training data's ({first20}, … and 10 more classes; 3x64x64)."));
        Assert.That(error.Message, Does.Not.Contain("c20"));
    }
}
