using MLNet.BNInception.Data;
using MLNet.BNInception.Imaging;
using MLNet.BNInception.Transforms.Image;

namespace MLNet.BNInception.Tests;

public sealed class ImageTransformTests
{
    public sealed class PathRow
    {
        public string ImagePath { get; set; } = "";

        public string Label { get; set; } = "";
    }

    /// <summary>A width × height BGR image whose blue channel is the column index, green the row index, red 200.</summary>
    private static MLImage Gradient(int width, int height)
    {
        var pixels = new byte[width * height * 3];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int i = ((y * width) + x) * 3;
                (pixels[i], pixels[i + 1], pixels[i + 2]) = ((byte)x, (byte)y, 200);
            }
        }

        return MLImage.CreateFromPixels(width, height, MLPixelFormat.Bgr24, pixels);
    }

    private static (IDataView View, MLContext Context) ImagesFrom(TemporaryDirectory folder, params (string Name, MLImage Image)[] images)
    {
        var context = new MLContext(seed: 1);
        foreach ((string name, MLImage image) in images)
        {
            image.Save(folder.File(name));
        }

        return (context.Data.LoadFromEnumerable(images.Select(image => new PathRow { ImagePath = image.Name, Label = image.Name }).ToList()), context);
    }

    private static List<MLImage> Images(IDataView view, string column)
    {
        var images = new List<MLImage>();
        DataViewSchema.Column imageColumn = view.Schema[column];
        using DataViewRowCursor cursor = view.GetRowCursor([imageColumn]);
        ValueGetter<MLImage> getter = cursor.GetGetter<MLImage>(imageColumn);
        while (cursor.MoveNext())
        {
            MLImage image = null!;
            getter(ref image);
            images.Add(image);
        }

        return images;
    }

    [Test]
    public void LoadImagesDecodesPngLosslessly()
    {
        using var folder = new TemporaryDirectory();
        MLImage original = Gradient(7, 5);
        (IDataView rows, MLContext context) = ImagesFrom(folder, ("a.png", original));
        IDataView loaded = context.Transforms.LoadImages("Image", folder.Path, "ImagePath").Fit(rows).Transform(rows);
        MLImage image = Images(loaded, "Image").Single();
        Assert.That((image.Width, image.Height, image.PixelFormat), Is.EqualTo((7, 5, MLPixelFormat.Bgr24)));
        Assert.That(image.Pixels.ToArray(), Is.EqualTo(original.Pixels.ToArray()));
    }

    [Test]
    public void LoadRawImageBytesReadsTheFileUndecoded()
    {
        using var folder = new TemporaryDirectory();
        (IDataView rows, MLContext context) = ImagesFrom(folder, ("a.png", Gradient(3, 2)));
        IDataView view = context.Transforms.LoadRawImageBytes("Bytes", folder.Path, "ImagePath").Fit(rows).Transform(rows);
        Assert.That(view.GetColumn<VBuffer<byte>>("Bytes").Single().ToArray(), Is.EqualTo(File.ReadAllBytes(folder.File("a.png"))));
        IDataView missing = context.Transforms.LoadRawImageBytes("Bytes", folder.File("nowhere"), "ImagePath").Fit(rows).Transform(rows);
        Assert.That(() => missing.GetColumn<VBuffer<byte>>("Bytes").ToList(), Throws.TypeOf<InvalidImageException>().With.Message.Contains("does not exist"));
    }

    [Test]
    public void IsoCropKeepsTheCentreOfAWideImage()
    {
        // 40×20 → 20×20: the centre crop is columns 10..29, taken 1:1 (nearest, no scaling).
        using var folder = new TemporaryDirectory();
        (IDataView rows, MLContext context) = ImagesFrom(folder, ("wide.png", Gradient(40, 20)));
        IDataView resized = context.Transforms.LoadImages("Image", folder.Path, "ImagePath")
            .Append(context.Transforms.ResizeImages("Small", 20, 20, "Image", filter: ResizeFilter.Nearest)).Fit(rows).Transform(rows);
        MLImage image = Images(resized, "Small").Single();
        Assert.That(resized.Schema["Small"].Type, Is.EqualTo(new ImageDataViewType(20, 20)));
        for (int y = 0; y < 20; y++)
        {
            for (int x = 0; x < 20; x++)
            {
                int i = ((y * 20) + x) * 3;
                Assert.That((image.Pixels[i], image.Pixels[i + 1]), Is.EqualTo(((byte)(x + 10), (byte)y)), $"pixel ({x}, {y})");
            }
        }
    }

    [Test]
    public void IsoCropAnchorsAndFillStretch()
    {
        using var folder = new TemporaryDirectory();
        (IDataView rows, MLContext context) = ImagesFrom(folder, ("wide.png", Gradient(40, 20)));
        var load = context.Transforms.LoadImages("Image", folder.Path, "ImagePath");
        IDataView view = load.Append(context.Transforms.ResizeImages("Left", 20, 20, "Image", cropAnchor: Anchor.Left, filter: ResizeFilter.Nearest))
            .Append(context.Transforms.ResizeImages("Right", 20, 20, "Image", cropAnchor: Anchor.Right, filter: ResizeFilter.Nearest))
            .Append(context.Transforms.ResizeImages("Fill", 20, 20, "Image", resizing: ResizingKind.Fill, filter: ResizeFilter.Nearest))
            .Fit(rows).Transform(rows);
        // Left keeps columns 0..19, Right 20..39; Fill halves the width, so nearest takes every other column.
        Assert.That(Images(view, "Left").Single().Pixels[3 * 5], Is.EqualTo(5));
        Assert.That(Images(view, "Right").Single().Pixels[3 * 5], Is.EqualTo(25));
        Assert.That(Images(view, "Fill").Single().Pixels[3 * 5], Is.EqualTo(10));
    }

    [Test]
    public void IsoPadCentresAndPadsWithBlack()
    {
        // 40×20 → 20×20: scaled by 1/2 to 20×10, placed at rows 5..14; rows 0..4 and 15..19 are black.
        using var folder = new TemporaryDirectory();
        (IDataView rows, MLContext context) = ImagesFrom(folder, ("wide.png", Gradient(40, 20)));
        IDataView view = context.Transforms.LoadImages("Image", folder.Path, "ImagePath")
            .Append(context.Transforms.ResizeImages("Padded", 20, 20, "Image", resizing: ResizingKind.IsoPad, filter: ResizeFilter.Nearest))
            .Fit(rows).Transform(rows);
        byte[] pixels = Images(view, "Padded").Single().Pixels.ToArray();
        Assert.That(pixels.Take(5 * 20 * 3), Is.All.EqualTo(0));
        Assert.That(pixels.Skip(15 * 20 * 3), Is.All.EqualTo(0));
        int row7 = 7 * 20 * 3;
        Assert.That((pixels[row7 + (3 * 4)], pixels[row7 + (3 * 4) + 1], pixels[row7 + (3 * 4) + 2]), Is.EqualTo(((byte)8, (byte)4, (byte)200)));
    }

    [Test]
    public void ExtractPixelsFollowsMLNetLayoutAndArithmetic()
    {
        // One 2×1 image: pixel 0 is (B, G, R) = (10, 20, 30), pixel 1 is (40, 50, 60).
        using var folder = new TemporaryDirectory();
        MLImage image = MLImage.CreateFromPixels(2, 1, MLPixelFormat.Bgr24, [10, 20, 30, 40, 50, 60]);
        (IDataView rows, MLContext context) = ImagesFrom(folder, ("p.png", image));
        // ExtractPixels needs images of a known size, as in ML.NET: a same-size resize gives it.
        IDataView view = context.Transforms.LoadImages("Image", folder.Path, "ImagePath")
            .Append(context.Transforms.ResizeImages("Image", 2, 1, resizing: ResizingKind.Fill, filter: ResizeFilter.Nearest))
            .Append(context.Transforms.ExtractPixels("Planar", "Image"))
            .Append(context.Transforms.ExtractPixels("Scaled", "Image", offsetImage: 10, scaleImage: 0.5f))
            .Append(context.Transforms.ExtractPixels("Interleaved", "Image", orderOfExtraction: ColorsOrder.ABGR, interleavePixelColors: true))
            .Append(context.Transforms.ExtractPixels("Bytes", "Image", colorsToExtract: ColorBits.Red | ColorBits.Blue, outputAsFloatArray: false))
            .Append(context.Transforms.ExtractPixels("Normalized", "Image", scaleImage: 0.1f,
                normalization: new MLNet.BNInception.Models.ImageNormalization([1f, 2f, 3f], [2f, 4f, 5f])))
            .Fit(rows).Transform(rows);

        float[] Floats(string column) => view.GetColumn<VBuffer<float>>(column).Single().ToArray();
        Assert.That(view.Schema["Planar"].Type, Is.EqualTo(new VectorDataViewType(NumberDataViewType.Single, 3, 1, 2)));
        Assert.That(Floats("Planar"), Is.EqualTo(new float[] { 30, 60, 20, 50, 10, 40 }));
        Assert.That(Floats("Scaled"), Is.EqualTo(new float[] { 10, 25, 5, 20, 0, 15 }));
        Assert.That(view.Schema["Interleaved"].Type, Is.EqualTo(new VectorDataViewType(NumberDataViewType.Single, 1, 2, 3)));
        Assert.That(Floats("Interleaved"), Is.EqualTo(new float[] { 10, 20, 30, 40, 50, 60 }));
        Assert.That(view.GetColumn<VBuffer<byte>>("Bytes").Single().ToArray(), Is.EqualTo(new byte[] { 30, 60, 10, 40 }));
        // (0.1 p − mean) / std per channel: red (3 − 1)/2, (6 − 1)/2; green (2 − 2)/4, (5 − 2)/4; blue (1 − 3)/5, (4 − 3)/5.
        Assert.That(Floats("Normalized"), Is.EqualTo(new float[] { 1f, 2.5f, 0f, 0.75f, -0.4f, 0.2f }).Within(1e-6f));
    }

    [Test]
    public void GrayscaleUsesBt601Weights()
    {
        using var folder = new TemporaryDirectory();
        // Pure blue, green, red and white pixels; gray = 0.114 B + 0.587 G + 0.299 R, rounded.
        MLImage image = MLImage.CreateFromPixels(4, 1, MLPixelFormat.Bgr24, [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]);
        (IDataView rows, MLContext context) = ImagesFrom(folder, ("c.png", image));
        IDataView view = context.Transforms.LoadImages("Image", folder.Path, "ImagePath")
            .Append(context.Transforms.ResizeImages("Image", 4, 1, resizing: ResizingKind.Fill, filter: ResizeFilter.Nearest))
            .Append(context.Transforms.ConvertToGrayscale("Gray", "Image"))
            .Append(context.Transforms.ExtractPixels("Features", "Gray"))
            .Fit(rows).Transform(rows);
        MLImage gray = Images(view, "Gray").Single();
        Assert.That(gray.PixelFormat, Is.EqualTo(MLPixelFormat.Gray8));
        Assert.That(gray.Pixels.ToArray(), Is.EqualTo(new byte[] { 29, 150, 76, 255 }));
        // A gray image gives the same plane for red, green and blue.
        float[] planes = view.GetColumn<VBuffer<float>>("Features").Single().ToArray();
        Assert.That(planes, Is.EqualTo(new float[] { 29, 150, 76, 255, 29, 150, 76, 255, 29, 150, 76, 255 }));
    }

    private static (IDataView Rows, MLContext Context, TemporaryDirectory Folder) WithBadImages()
    {
        var folder = new TemporaryDirectory();
        Gradient(8, 8).Save(folder.File("good1.png"));
        Gradient(9, 9).Save(folder.File("good2.png"));
        File.WriteAllBytes(folder.File("empty.png"), []);
        File.WriteAllText(folder.File("text.png"), "this is not an image");
        byte[] png = File.ReadAllBytes(folder.File("good1.png"));
        File.WriteAllBytes(folder.File("truncated.png"), png[..(png.Length / 2)]);
        var context = new MLContext(seed: 1);
        string[] names = ["good1.png", "missing.png", "empty.png", "good2.png", "text.png", "truncated.png"];
        return (context.Data.LoadFromEnumerable(names.Select(name => new PathRow { ImagePath = name, Label = name }).ToList()), context, folder);
    }

    [Test]
    public void ABadImageFailsWithItsRowAndPathByDefault()
    {
        (IDataView rows, MLContext context, TemporaryDirectory folder) = WithBadImages();
        using (folder)
        {
            IDataView view = context.Transforms.LoadImages("Image", folder.Path, "ImagePath").Fit(rows).Transform(rows);
            InvalidImageException error = Assert.Throws<InvalidImageException>(() => Images(view, "Image"))!;
            Assert.That(error.Row, Is.EqualTo(1));
            Assert.That(error.ImagePath, Does.EndWith("missing.png"));
            Assert.That(error.Message, Does.Contain("row 1").And.Contain("missing.png").And.Contain("does not exist"));
        }
    }

    [Test]
    public void SkipPolicyDropsBadRowsCountsAndLogsThem()
    {
        (IDataView rows, MLContext context, TemporaryDirectory folder) = WithBadImages();
        using (folder)
        {
            var warnings = new List<string>();
            context.Log += (_, e) =>
            {
                if (e.Kind == ChannelMessageKind.Warning)
                {
                    warnings.Add(e.Message);
                }
            };
            ImageLoadingTransformer loader = context.Transforms.LoadImages("Image", folder.Path, "ImagePath", InvalidImagePolicy.Skip).Fit(rows);
            IDataView view = loader.Transform(rows);
            List<MLImage> images = Images(view, "Image");
            Assert.That(images.Select(image => image.Width), Is.EqualTo(new[] { 8, 9 }));
            Assert.That(view.GetColumn<ReadOnlyMemory<char>>("Label").Select(label => label.ToString()), Is.EqualTo(new[] { "good1.png", "good2.png" }));
            Assert.That(loader.SkippedImages.Take(4).Select(skipped => (skipped.Row, Path.GetFileName(skipped.Path))),
                Is.EqualTo(new[] { (1L, "missing.png"), (2L, "empty.png"), (4L, "text.png"), (5L, "truncated.png") }));
            // Two passes (images, then labels), each with one warning per skipped row and a summary at its end.
            Assert.That(warnings, Has.Count.EqualTo(10));
            Assert.That(new[] { warnings[4], warnings[9] }, Has.All.Contains("skipped 4 of 6 rows"));
            Assert.That(loader.SkippedImageCount, Is.EqualTo(8));
        }
    }

    [Test]
    public void MissingOrWronglyTypedColumnsAreClearErrors()
    {
        var context = new MLContext();
        IDataView rows = context.Data.LoadFromEnumerable(new List<PathRow> { new() { ImagePath = "x.png" } });
        ArgumentOutOfRangeException missing = Assert.Throws<ArgumentOutOfRangeException>(() => context.Transforms.LoadImages("Image", null, "Path").Fit(rows))!;
        Assert.That(missing.Message, Does.Contain("'Path'").And.Contain("ImagePath"));
        ArgumentException notImage = Assert.Throws<ArgumentException>(() => context.Transforms.ResizeImages("Small", 8, 8, "ImagePath").Fit(rows))!;
        Assert.That(notImage.Message, Does.Contain("'ImagePath'").And.Contain("image column"));
    }
}
