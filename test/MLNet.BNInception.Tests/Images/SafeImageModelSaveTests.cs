using MLNet.BNInception.Images;
using MLNet.BNInception.ModelFiles;
using SkiaSharp;

namespace MLNet.BNInception.Tests.Images;

/// <summary>
/// mlContext.Model.Save of a pipeline holding the safe loader writes ML.NET's own image loader in its place;
/// Model.Load gives a working pipeline that loads the same pixels from good files, with ML.NET's loader's
/// behaviour on bad ones, as the transformer's documentation says.
/// </summary>
public sealed class SafeImageModelSaveTests
{
    private TemporaryDirectory _folder = null!;

    [OneTimeSetUp]
    public void WriteImages()
    {
        _folder = new TemporaryDirectory();
        File.WriteAllBytes(_folder.File("red.png"), TestImages.SolidPng(8, 8, new SKColor(255, 0, 0)));
        File.WriteAllBytes(_folder.File("blue.jpg"), TestImages.SolidJpeg(16, 16, new SKColor(0, 0, 255)));
        byte[] jpeg = TestImages.Encode(TestImages.Noise(64, 64, seed: 2), SKEncodedImageFormat.Jpeg, 90);
        File.WriteAllBytes(_folder.File("truncated.jpg"), jpeg[..(jpeg.Length / 2)]);
    }

    [OneTimeTearDown]
    public void DeleteImages() => _folder.Dispose();

    private ITransformer Fit(MLContext mlContext, IDataView input) =>
        mlContext.Transforms.LoadImagesSafely(ImageRows.ImageColumn, _folder.Path, ImageRows.PathColumn)
            .Append(mlContext.Transforms.ResizeImages(ImageRows.ImageColumn, 4, 4))
            .Append(mlContext.Transforms.ExtractPixels("Pixels", ImageRows.ImageColumn))
            .Fit(input);

    [Test]
    public void TheSavedPipelineLoadsAsMLNetsLoaderAndGivesTheSamePixels()
    {
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("red", "red.png"), ("blue", "blue.jpg"));
        ITransformer model = Fit(mlContext, input);
        string file = _folder.File("model.zip");

        mlContext.Model.Save(model, input.Schema, file);
        var loadingContext = new MLContext(seed: 2);
        ITransformer loaded = BnInceptionModelFile.Load(loadingContext, file, out DataViewSchema savedSchema);

        ITransformer first = ((TransformerChain<ITransformer>)loaded).First();
        Assert.That(first, Is.InstanceOf<ImageLoadingTransformer>(), "after loading, the loader is ML.NET's own");
        Assert.That(((ImageLoadingTransformer)first).ImageFolder, Is.EqualTo(_folder.Path));
        Assert.That(savedSchema.Select(c => c.Name), Is.EqualTo(input.Schema.Select(c => c.Name)));

        float[][] before = [.. model.Transform(input).GetColumn<float[]>("Pixels")];
        float[][] after = [.. loaded.Transform(ImageRows.Load(loadingContext, ("red", "red.png"), ("blue", "blue.jpg"))).GetColumn<float[]>("Pixels")];
        Assert.That(after, Is.EqualTo(before));
        // Planes R, G, B of 4x4: red, then blue (JPEG: within a few levels).
        Assert.That(after[0], Is.EqualTo(Enumerable.Repeat(255f, 16).Concat(Enumerable.Repeat(0f, 32))));
        Assert.That(after[1], Is.EqualTo(Enumerable.Repeat(0f, 32).Concat(Enumerable.Repeat(255f, 16))).Within(4f));
    }

    [Test]
    public void AfterLoadingATruncatedFileLoadsSilentlyAsTheDocumentationWarns()
    {
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("cut", "truncated.jpg"));
        ITransformer model = Fit(mlContext, input);
        string file = _folder.File("model-truncated.zip");
        mlContext.Model.Save(model, input.Schema, file);
        ITransformer loaded = BnInceptionModelFile.Load(mlContext, file, out _);

        Exception before = Assert.Catch(() => model.Transform(input).GetColumn<float[]>("Pixels").ToList())!;
        Assert.That(before.GetBaseException(), Is.InstanceOf<InvalidImageException>());
        Assert.That(loaded.Transform(input).GetColumn<float[]>("Pixels").Single(), Has.Length.EqualTo(48),
            "ML.NET's loader gives the half-decoded image without a word");
    }
}
