using System.Globalization;
using System.Runtime.Loader;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Tests.Images;
using MLNet.BNInception.Trainers;
using SkiaSharp;

namespace MLNet.BNInception.Tests;

/// <summary>
/// The trainer's CurvesPath: a PNG drawn by ScottPlot and a CSV of every epoch, in a process whose
/// ML.NET image transforms run on the same SkiaSharp 3.
/// </summary>
public class TrainingCurvesTests : SingleThreadedFixture
{
    // ScottPlot's first two series colours (its default palette, Category10).
    private static readonly SKColor FirstSeries = new(0x1f, 0x77, 0xb4);
    private static readonly SKColor SecondSeries = new(0xff, 0x7f, 0x0e);

    [Trains]
    [TestCase(true)]
    [TestCase(false)]
    public void AFitWithCurvesPathWritesEveryEpochToTheCsvAndDrawsThePng(bool validate)
    {
        var ml = new MLContext(seed: 1);
        using var folder = new TemporaryDirectory();
        float[] before = MLNetPixels(ml, folder);
        var epochs = new List<EpochMetrics>();
        var stepLosses = new List<(int Epoch, double Loss)>();
        var options = new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX5 with { Epochs = 2, BatchSize = 8, Seed = 3 },
            CurvesPath = folder.File("curves.png"),
            OnEpoch = epochs.Add,
            OnStep = step => stepLosses.Add((step.Epoch, step.Loss)),
        };
        IDataView train = PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 32));
        IDataView? valid = validate ? PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 16, skip: 32)) : null;

        using BnInceptionPredictionTransformer model = ml.MulticlassClassification.Trainers.BnInception(options).Fit(train, valid);

        string[] csv = File.ReadAllLines(folder.File("curves.csv"));
        Assert.That(csv[0], Is.EqualTo("epoch,learning_rate,train_loss,train_accuracy,validation_loss,validation_accuracy"));
        Assert.That(csv, Has.Length.EqualTo(3), "the header and one line per epoch");
        for (int e = 0; e < 2; e++)
        {
            string[] cells = csv[e + 1].Split(',');
            double Cell(int i) => double.Parse(cells[i], CultureInfo.InvariantCulture);
            Assert.That(cells[0], Is.EqualTo((e + 1).ToString(CultureInfo.InvariantCulture)));
            Assert.That((Cell(1), Cell(2), Cell(3)), Is.EqualTo((epochs[e].LearningRate, epochs[e].TrainLoss, epochs[e].TrainAccuracy)), $"epoch {e + 1}, exactly as reported");
            Assert.That(Cell(2), Is.EqualTo(stepLosses.Where(s => s.Epoch == e + 1).Average(s => s.Loss)).Within(1e-6), "the mean of the epoch's batch losses");
            if (validate)
            {
                Assert.That((Cell(4), Cell(5)), Is.EqualTo((epochs[e].ValidationLoss!.Value, epochs[e].ValidationAccuracy!.Value)));
            }
            else
            {
                Assert.That(cells[4..], Is.EqualTo(new[] { "", "" }), "no validation, empty cells");
            }
        }

        Assert.That(epochs[1].LearningRate, Is.LessThan(epochs[0].LearningRate), "the decay shows from epoch to epoch");

        using SKBitmap png = SKBitmap.Decode(folder.File("curves.png"));
        Assert.That((png.Width, png.Height), Is.EqualTo((1200, 450)));
        Assert.That(CountNear(png, FirstSeries), Is.GreaterThan(200), "the training curves are drawn");
        if (validate)
        {
            Assert.That(CountNear(png, SecondSeries), Is.GreaterThan(200), "the validation curves are drawn");
        }
        else
        {
            Assert.That(CountNear(png, SecondSeries), Is.Zero, "no validation curve without validation");
        }

        // On request, from the fitted model: the same numbers; over an earlier run's curves too.
        model.SaveTrainingCurves(folder.File("again.png"));
        Assert.That(File.ReadAllLines(folder.File("again.csv")), Is.EqualTo(csv));
        model.SaveTrainingCurves(folder.File("curves.png"));
        Assert.That(File.ReadAllLines(folder.File("curves.csv")), Is.EqualTo(csv));

        Assert.That(Directory.GetFiles(folder.Path).Select(Path.GetFileName), Is.EquivalentTo(new[] { "noise.png", "curves.png", "curves.csv", "again.png", "again.csv" }),
            "no temporary file is left");
        AssertOneSkiaSharp();
        Assert.That(MLNetPixels(ml, folder), Is.EqualTo(before), "ML.NET's image transforms still work after the chart was drawn");
    }

    [TestCase("no-such-folder/curves.png", "does not exist")]
    [TestCase("curves.jpg", "does not end in .png")]
    [TestCase("data.png", "would replace '{0}/data.csv', which is not an earlier run's training curves")]
    [TestCase("photo.png", "would replace '{0}/photo.png', which is not an earlier run's training curves")]
    public void ABadCurvesPathIsRefusedBeforeAnyRowIsRead(string name, string reason)
    {
        var ml = new MLContext(seed: 1);
        using var folder = new TemporaryDirectory();
        File.WriteAllText(folder.File("data.csv"), "path,label\na.png,Bag\n");
        File.WriteAllBytes(folder.File("photo.png"), [1, 2, 3]);
        var data = new RecordingDataView(PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 16)));
        var options = new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX5 with { Epochs = 1, BatchSize = 8 },
            CurvesPath = folder.File(name),
        };

        var error = Assert.Throws<ArgumentException>(() => ml.MulticlassClassification.Trainers.BnInception(options).Fit(data));

        Assert.That(error!.Message, Does.StartWith("CurvesPath: ").And.Contain(string.Format(CultureInfo.InvariantCulture, reason, folder.Path)));
        Assert.That(data.RowsRead, Is.Zero);
        Assert.That(File.ReadAllText(folder.File("data.csv")), Is.EqualTo("path,label\na.png,Bag\n"), "the user's CSV is untouched");
        Assert.That(File.ReadAllBytes(folder.File("photo.png")), Is.EqualTo(new byte[] { 1, 2, 3 }), "the user's image is untouched");
    }

    [Trains]
    [Test]
    public void CurvesThatCannotBeWrittenAfterTrainingAreAWarningAndTheModelIsKept()
    {
        var ml = new MLContext(seed: 1);
        List<string> warnings = MLContextWarnings.Collect(ml);
        using var folder = new TemporaryDirectory();
        string gone = Directory.CreateDirectory(folder.File("gone")).FullName;
        var options = new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX5 with { Epochs = 1, BatchSize = 8 },
            CurvesPath = Path.Combine(gone, "curves.png"),
            MLContext = ml,
            // The folder passes the check before training, then disappears.
            OnEpoch = _ => Directory.Delete(gone),
        };

        using BnInceptionPredictionTransformer model = ml.MulticlassClassification.Trainers.BnInception(options)
            .Fit(PipelineData.KeyedView(ml, PipelineData.FashionRows("train", 16)));

        Assert.That(model.History, Has.Count.EqualTo(1));
        Assert.That(warnings, Has.One.EndsWith($"training curves were not written to {options.CurvesPath}: '{options.CurvesPath}': the folder '{gone}' does not exist."));
    }

    [Test]
    public void TrainingCurvesSaveRefusesAnEmptyHistoryAndWritesNothing()
    {
        using var folder = new TemporaryDirectory();
        Assert.Throws<ArgumentException>(() => TrainingCurves.Save(folder.File("curves.png"), []));
        Assert.That(Directory.GetFiles(folder.Path), Is.Empty);
    }

    // ML.NET's own LoadImages, ResizeImages and ExtractPixels (SKBitmap pixels through SkiaSharp) on a PNG.
    private static float[] MLNetPixels(MLContext ml, TemporaryDirectory folder)
    {
        string path = folder.File("noise.png");
        if (!File.Exists(path))
        {
            using SKBitmap noise = TestImages.Noise(24, 16, seed: 5);
            File.WriteAllBytes(path, TestImages.Encode(noise, SKEncodedImageFormat.Png));
        }

        IDataView input = ImageRows.Load(ml, ("noise", "noise.png"));
        return ml.Transforms.LoadImages(ImageRows.ImageColumn, folder.Path, ImageRows.PathColumn)
            .Append(ml.Transforms.ResizeImages(ImageRows.ImageColumn, 12, 8))
            .Append(ml.Transforms.ExtractPixels("Pixels", ImageRows.ImageColumn))
            .Fit(input).Transform(input).GetColumn<float[]>("Pixels").Single();
    }

    private static void AssertOneSkiaSharp()
    {
        Version[] loaded = AssemblyLoadContext.All.SelectMany(context => context.Assemblies)
            .Select(assembly => assembly.GetName()).Where(name => name.Name == "SkiaSharp").Select(name => name.Version!).ToArray();
        Assert.That(loaded, Has.Length.EqualTo(1), "one SkiaSharp in the process, for ML.NET's images and the chart alike");
        Assert.That(loaded[0].Major, Is.EqualTo(3));
    }

    private static int CountNear(SKBitmap bitmap, SKColor color)
    {
        int count = 0;
        for (int y = 0; y < bitmap.Height; y++)
        {
            for (int x = 0; x < bitmap.Width; x++)
            {
                SKColor pixel = bitmap.GetPixel(x, y);
                if (Math.Abs(pixel.Red - color.Red) + Math.Abs(pixel.Green - color.Green) + Math.Abs(pixel.Blue - color.Blue) <= 12)
                {
                    count++;
                }
            }
        }

        return count;
    }
}
