using System.Globalization;
using MLNet.BNInception.Engine.Onnx;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// What the engine writes (an exported file's descriptions, its messages) is the same text in every
/// culture: an ONNX file exported on a German machine must not say 0,286 where another says 0.286,
/// and a message must quote a setting as C# code writes it.
/// </summary>
public class LocaleTests
{
    [Test]
    public void ANormalisationIsDescribedWithDecimalPointsInAGermanCulture()
    {
        using var german = CultureScope.German();
        string description = ImageNormalization.ImageNet.ToString();
        Assert.That(description, Is.EqualTo("(x - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]"));
    }

    [Test]
    public void AnExportInAGermanCultureIsTheSameFileAsAnywhereElse()
    {
        using var folder = new TemporaryDirectory();
        using var model = new BnInception(new BnInceptionOptions { InputSize = 64, InputChannels = 1, NumClasses = 3 }, seed: 5);
        model.eval();
        var options = new OnnxExportOptions { Normalization = new ImageNormalization([0.2860f], [0.3530f]) };
        string german = folder.File("german.onnx"), invariant = folder.File("invariant.onnx");
        using (CultureScope.German())
        {
            OnnxExporter.Export(model, german, options);
        }

        using (new CultureScope(CultureInfo.InvariantCulture))
        {
            OnnxExporter.Export(model, invariant, options);
        }

        using ImportedNetwork imported = OnnxImporter.Import(german);
        Assert.That(imported.Metadata["input_normalization"], Is.EqualTo("pixels normalised per channel as (x - [0.286]) / [0.353]"));
        Assert.That(File.ReadAllBytes(german), Is.EqualTo(File.ReadAllBytes(invariant)), "the same bytes");
    }

    [Test]
    public void SettingsOutOfRangeAreQuotedWithDecimalPointsInAGermanCulture()
    {
        var training = new TrainerOptions();
        var network = new BnInceptionOptions();
        (Action Validate, string Quoted)[] cases =
        [
            ((training with { Momentum = 1.5 }).Validate, "not 1.5."),
            ((training with { LearningRate = -0.5 }).Validate, "not -0.5."),
            ((training with { LabelSmoothing = 1.5 }).Validate, "not 1.5."),
            ((training with { Schedule = new ExponentialSchedule(-0.5) }).Validate, "not -0.5."),
            ((training with { Augmentation = new AugmentationOptions { CropScale = (0.5, 0.25) } }).Validate, "not (0.5, 0.25)."),
            ((training with { EarlyStopping = new EarlyStoppingOptions { MinDelta = -0.5 } }).Validate, "not 3 and -0.5."),
            ((network with { Dropout = 1.5 }).Validate, "not 1.5."),
            ((network with { BatchNormMomentum = 1.5 }).Validate, "not 1E-05 and 1.5."),
        ];
        using var german = CultureScope.German();
        Assert.Multiple(() =>
        {
            foreach ((Action validate, string quoted) in cases)
            {
                Assert.That(() => validate(), Throws.ArgumentException.With.Message.Contain(quoted));
            }
        });
    }
}
