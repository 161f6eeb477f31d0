using MLNet.BNInception.Images;
using SkiaSharp;

namespace MLNet.BNInception.Tests.Images;

/// <summary>A prediction engine runs through the loader (Fail policy) as a row-to-row mapper; a Skip loader says why it cannot.</summary>
public sealed class SafeImagePredictionEngineTests
{
    private TemporaryDirectory _folder = null!;

    public sealed class PathInput
    {
        public string ImagePath { get; set; } = "";
    }

    public sealed class PixelsOutput
    {
        [VectorType(3 * 2 * 4)]
        public float[] Pixels { get; set; } = [];
    }

    [OneTimeSetUp]
    public void WriteImages()
    {
        _folder = new TemporaryDirectory();
        File.WriteAllBytes(_folder.File("green.png"), TestImages.SolidPng(8, 8, new SKColor(0, 255, 0)));
        using SKBitmap marked = TestImages.Draw(40, 20, SKColors.White, canvas => canvas.Fill(0, 0, 20, 20, SKColors.Red));
        File.WriteAllBytes(_folder.File("rotated.jpg"), ExifOrientation.Insert(TestImages.Encode(marked, SKEncodedImageFormat.Jpeg, 100), 6));
    }

    [OneTimeTearDown]
    public void DeleteImages() => _folder.Dispose();

    private ITransformer Fit(MLContext mlContext, InvalidImagePolicy policy)
    {
        IDataView input = mlContext.Data.LoadFromEnumerable(new[] { new PathInput { ImagePath = "green.png" } });
        return mlContext.Transforms.LoadImagesSafely(ImageRows.ImageColumn, _folder.Path, ImageRows.PathColumn, policy)
            .Append(mlContext.Transforms.ResizeImages(ImageRows.ImageColumn, 2, 4, resizing: Microsoft.ML.Transforms.Image.ImageResizingEstimator.ResizingKind.Fill))
            .Append(mlContext.Transforms.ExtractPixels("Pixels", ImageRows.ImageColumn))
            .Fit(input);
    }

    [Test]
    public void PredictsPixelsTurnsImagesUprightAndNamesABadPath()
    {
        var mlContext = new MLContext(seed: 1);
        using PredictionEngine<PathInput, PixelsOutput> engine = mlContext.Model.CreatePredictionEngine<PathInput, PixelsOutput>(Fit(mlContext, InvalidImagePolicy.Fail));

        float[] green = engine.Predict(new PathInput { ImagePath = "green.png" }).Pixels;
        Assert.That(green, Is.EqualTo(Enumerable.Repeat(0f, 8).Concat(Enumerable.Repeat(255f, 8)).Concat(Enumerable.Repeat(0f, 8))));

        // Stored 40x20, left half red; orientation 6 shows it 20x40 with the red half on top.
        float[] rotated = engine.Predict(new PathInput { ImagePath = "rotated.jpg" }).Pixels;
        float[] greenPlane = rotated[8..16];
        Assert.That(greenPlane[..4], Is.All.LessThan(40f), "top half red: no green");
        Assert.That(greenPlane[4..], Is.All.GreaterThan(215f), "bottom half white");

        Exception thrown = Assert.Catch(() => engine.Predict(new PathInput { ImagePath = "nowhere.png" }))!;
        InvalidImageException error = thrown as InvalidImageException ?? (InvalidImageException)thrown.GetBaseException();
        Assert.That(error.Message, Does.Contain("'nowhere.png'").And.Contain("no file exists at").And.Contain("[FileNotFound]"));

        Assert.That(engine.Predict(new PathInput { ImagePath = "green.png" }).Pixels, Is.EqualTo(green), "the engine works after an error");
    }

    [Test]
    public void ASkippingLoaderIsNotARowToRowMapperAndSaysWhy()
    {
        var mlContext = new MLContext(seed: 1);
        var transformer = (SafeImageLoadingTransformer)((IEnumerable<ITransformer>)Fit(mlContext, InvalidImagePolicy.Skip)).First();

        Assert.That(transformer.IsRowToRowMapper, Is.False);
        IDataView input = mlContext.Data.LoadFromEnumerable(new[] { new PathInput() });
        InvalidOperationException error = Assert.Throws<InvalidOperationException>(() => transformer.GetRowToRowMapper(input.Schema))!;
        Assert.That(error.Message, Does.Contain("InvalidImagePolicy.Fail"));
    }
}
