using Microsoft.ML.Transforms.Image;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Scoring;

namespace MLNet.BNInception.Tests;

/// <summary>Images passing through the batched scoring cursor belong to whoever reads them, as images from ML.NET's loader do.</summary>
[Trains]
public class ImageColumnTests
{
    private sealed class ImageRow
    {
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";

        [LoadColumn(1)]
        public string Label { get; set; } = "";
    }

    private sealed class Scored
    {
        [ImageType(64, 64)]
        public MLImage? Image { get; set; }

        public float[] Score { get; set; } = [];
    }

    [Test]
    public void ImagesReadThroughTheScoredViewStayUsableAfterLaterBatches()
    {
        var ml = new MLContext(seed: 1);
        using var folder = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(folder.File("data"), 48, 0, 70);
        var prepare = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImages("Image", files.ImageFolder, "ImagePath"))
            .Append(ml.Transforms.ResizeImages("Image", 64, 64))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", colorsToExtract: Microsoft.ML.Transforms.Image.ImagePixelExtractingEstimator.ColorBits.Red,
                scaleImage: 1f / 255));
        IDataView train = ml.Data.LoadFromTextFile<ImageRow>(files.TrainCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);
        IDataView test = ml.Data.LoadFromTextFile<ImageRow>(files.TestCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);
        var prepared = prepare.Fit(train);
        using BnInceptionPredictionTransformer model = TrainedModel.Train(ml, prepared.Transform(train));

        // 70 rows: the scoring cursor reads them in two batches of 64 and 6.
        List<Scored> rows = ml.Data.CreateEnumerable<Scored>(model.Transform(prepared.Transform(test)), reuseRowObject: false).ToList();
        Assert.That(rows, Has.Count.EqualTo(70));
        Assert.That(rows.Select(row => row.Image!.Width), Is.All.EqualTo(64), "every image is still usable after its batch was replaced");
        Assert.That(rows.Select(row => row.Image!.Pixels.Length), Is.All.EqualTo(64 * 64 * 4));
        foreach (Scored row in rows)
        {
            row.Image!.Dispose();
        }
    }
}
