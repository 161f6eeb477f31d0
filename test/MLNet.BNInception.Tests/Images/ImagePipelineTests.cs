using SkiaSharp;

namespace MLNet.BNInception.Tests.Images;

/// <summary>
/// The loader's output feeds ML.NET's ResizeImages and ExtractPixels unchanged: the values that come out are
/// the colours drawn, and for ordinary files exactly what ML.NET's own LoadImages gives.
/// </summary>
public sealed class ImagePipelineTests
{
    private TemporaryDirectory _folder = null!;

    [OneTimeSetUp]
    public void WriteImages()
    {
        _folder = new TemporaryDirectory();
        using SKBitmap halves = TestImages.Draw(32, 16, new SKColor(255, 0, 0), canvas => canvas.Fill(16, 0, 16, 16, new SKColor(0, 0, 255)));
        File.WriteAllBytes(_folder.File("halves.png"), TestImages.Encode(halves, SKEncodedImageFormat.Png));
        File.WriteAllBytes(_folder.File("halves.jpg"), TestImages.Encode(halves, SKEncodedImageFormat.Jpeg, 90));
        using SKBitmap noise = TestImages.Noise(48, 40, seed: 3);
        File.WriteAllBytes(_folder.File("noise.jpg"), TestImages.Encode(noise, SKEncodedImageFormat.Jpeg, 85));
        File.WriteAllBytes(_folder.File("noise.png"), TestImages.Encode(noise, SKEncodedImageFormat.Png));
        using SKBitmap marked = TestImages.Draw(40, 24, SKColors.White, canvas => canvas.Fill(0, 0, 8, 8, SKColors.Red));
        File.WriteAllBytes(_folder.File("rotated.jpg"), ExifOrientation.Insert(TestImages.Encode(marked, SKEncodedImageFormat.Jpeg, 100), 6));
    }

    [OneTimeTearDown]
    public void DeleteImages() => _folder.Dispose();

    private static float[][] Pixels(MLContext mlContext, IEstimator<ITransformer> loader, IDataView input, int width, int height) =>
        [.. loader
            .Append(mlContext.Transforms.ResizeImages(ImageRows.ImageColumn, width, height, resizing: Microsoft.ML.Transforms.Image.ImageResizingEstimator.ResizingKind.Fill))
            .Append(mlContext.Transforms.ExtractPixels("Pixels", ImageRows.ImageColumn))
            .Fit(input).Transform(input)
            .GetColumn<float[]>("Pixels")];

    [Test]
    public void ResizeAndExtractPixelsGiveTheDrawnColours()
    {
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("halves", "halves.png"));

        float[] pixels = Pixels(mlContext, mlContext.Transforms.LoadImagesSafely(ImageRows.ImageColumn, _folder.Path, ImageRows.PathColumn), input, 8, 4).Single();

        // ExtractPixels' default layout: planes R, G, B, each 4 rows of 8; red on the left half, blue on the right.
        Assert.That(pixels, Has.Length.EqualTo(3 * 8 * 4));
        for (int y = 0; y < 4; y++)
        {
            for (int x = 0; x < 8; x++)
            {
                bool left = x < 4;
                int at = (y * 8) + x;
                Assert.That((pixels[at], pixels[32 + at], pixels[64 + at]), Is.EqualTo(left ? (255f, 0f, 0f) : (0f, 0f, 255f)), $"({x}, {y})");
            }
        }
    }

    [Test]
    public void OrdinaryFilesGiveExactlyWhatMLNetsOwnLoaderGives()
    {
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("a", "halves.png"), ("b", "halves.jpg"), ("c", "noise.jpg"), ("d", "noise.png"));

        float[][] safe = Pixels(mlContext, mlContext.Transforms.LoadImagesSafely(ImageRows.ImageColumn, _folder.Path, ImageRows.PathColumn), input, 12, 10);
        float[][] mlnet = Pixels(mlContext, mlContext.Transforms.LoadImages(ImageRows.ImageColumn, _folder.Path, ImageRows.PathColumn), input, 12, 10);

        Assert.That(safe, Is.EqualTo(mlnet));
    }

    [Test]
    public void AnExifRotatedImageIsResizedUpright()
    {
        // Stored 40x24 with the mark top-left; orientation 6 shows it 24x40 with the mark top-right.
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("rotated", "rotated.jpg"));

        float[] pixels = Pixels(mlContext, mlContext.Transforms.LoadImagesSafely(ImageRows.ImageColumn, _folder.Path, ImageRows.PathColumn), input, 6, 10).Single();

        float Red(int x, int y) => pixels[(y * 6) + x];
        float Green(int x, int y) => pixels[60 + (y * 6) + x];
        Assert.Multiple(() =>
        {
            // Resizing 24x40 to 6x10 leaves the 8x8 mark 2x2 pixels; JPEG and resampling blur its values.
            Assert.That(new[] { Red(5, 0), Green(5, 0) }, Is.EqualTo(new[] { 255f, 0f }).Within(40f), "the mark is at the top right");
            Assert.That(new[] { Red(0, 0), Green(0, 0) }, Is.EqualTo(new[] { 255f, 255f }).Within(40f), "the top left is white");
            Assert.That(new[] { Red(5, 9), Green(5, 9) }, Is.EqualTo(new[] { 255f, 255f }).Within(40f), "the bottom right is white");
        });
    }
}
