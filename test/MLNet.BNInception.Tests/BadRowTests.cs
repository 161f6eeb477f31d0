using MLNet.BNInception.ModelFiles;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;

namespace MLNet.BNInception.Tests;

/// <summary>A row the trainer cannot use stops training with its number and what is wrong, instead of being dropped.</summary>
[Trains]
public class BadRowTests
{
    private static readonly MLContext Ml = new(seed: 1);

    private static BnInceptionMulticlassTrainer Trainer() =>
        Ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options { ImageSize = 64, Epochs = 1, BatchSize = 4 });

    [Test]
    public void ARowWithoutALabelIsNamed()
    {
        PipelineData.PixelRow[] rows = PipelineData.FashionRows("train", 12);
        rows[7].Label = "Mitten"; // a class the key mapping below does not know: a missing key
        IDataView data = PipelineData.KeyedView(Ml, rows);
        var error = Assert.Throws<InvalidDataException>(() => Trainer().Fit(data));
        Assert.That(error!.Message, Does.Contain("Row 7 of the training data (0-based, in the source's order) has no label").And.Contain("Label is missing"));
    }

    [Test]
    public void ARowWithANonFinitePixelIsNamed()
    {
        PipelineData.PixelRow[] rows = PipelineData.FashionRows("train", 12);
        rows[5].Features[100] = float.NaN;
        IDataView data = PipelineData.KeyedView(Ml, rows);
        var error = Assert.Throws<InvalidDataException>(() => Trainer().Fit(data));
        Assert.That(error!.Message, Does.Contain("Row 5 of the training data (0-based, in the source's order) has a non-finite pixel: Features[100] is NaN"));
    }

    [Test]
    public void ABadValidationRowIsNamedAsAValidationRow()
    {
        IDataView train = PipelineData.KeyedView(Ml, PipelineData.FashionRows("train", 8));
        PipelineData.PixelRow[] validationRows = PipelineData.FashionRows("t10k", 6);
        validationRows[2].Features[0] = float.PositiveInfinity;
        IDataView validation = PipelineData.KeyedView(Ml, validationRows);
        var error = Assert.Throws<InvalidDataException>(() => Trainer().Fit(train, validation));
        Assert.That(error!.Message, Does.Contain("Row 2 of the validation data (0-based, in the source's order) has a non-finite pixel: Features[0] is Infinity"));
    }
}
