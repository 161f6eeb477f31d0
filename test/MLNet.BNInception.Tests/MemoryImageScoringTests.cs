using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.ML.Transforms.Image;
using MLNet.BNInception.DemoData;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.ModelFiles;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Tests.Images;
using MLNet.BNInception.Trainers;
using SkiaSharp;

namespace MLNet.BNInception.Tests;

/// <summary>
/// docs/walkthrough.md, "Scoring an image from memory": a saved model scores an image given as bytes,
/// through its loaded chain without the image-loading step, as ML.NET's own loader in the whole loaded
/// chain scores the image's file. The page's code sample is this file's sample, word for word.
/// </summary>
public class MemoryImageScoringTests
{
    public sealed class ImageRow
    {
        [LoadColumn(0)]
        public string ImagePath { get; set; } = "";

        [LoadColumn(1)]
        public string Label { get; set; } = "";
    }

    // walkthrough sample start
    public sealed class UploadedImage
    {
        [ImageType(28, 28)]   // any positive size: ML.NET does not check the images against it
        public MLImage Image { get; set; } = null!;   // named as the column LoadImages wrote

        public string Label { get; set; } = "";   // the saved MapValueToKey reads it: empty is no label
    }

    public sealed class Prediction
    {
        public string PredictedLabel { get; set; } = "";

        public float[] Score { get; set; } = [];
    }
    // walkthrough sample end

    private sealed class WithoutLabel
    {
        [ImageType(28, 28)]
        public MLImage Image { get; set; } = null!;
    }

    private sealed class WithoutImageType
    {
        public MLImage Image { get; set; } = null!;

        public string Label { get; set; } = "";
    }

    private sealed class WithoutImageSize
    {
        [ImageType]
        public MLImage Image { get; set; } = null!;

        public string Label { get; set; } = "";
    }

    /// <summary>A stream that reads forward only, as a request's body does.</summary>
    private sealed class ForwardOnlyStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override long Seek(long offset, SeekOrigin loc) => throw new NotSupportedException();
    }

    private static Prediction[] ScoreUploads(MLContext mlContext, string modelPath, IEnumerable<byte[]> uploads)
    {
        // walkthrough sample start
        // Once: the saved chain without its image-loading step, and an engine (one per thread).
        var loaded = (TransformerChain<ITransformer>)BnInceptionModelFile.Load(mlContext, modelPath, out _);
        using var fromImage = new TransformerChain<ITransformer>([.. loaded.Where(step => step is not ImageLoadingTransformer)]);
        using var engine = mlContext.Model.CreatePredictionEngine<UploadedImage, Prediction>(fromImage,
            new PredictionEngineOptions { OwnsTransformer = false });

        // Per upload: its bytes (or the request's stream itself) decoded in memory, no file written.
        var predictions = new List<Prediction>();
        foreach (byte[] bytes in uploads)
        {
            using MLImage image = MLImage.CreateFromStream(new MemoryStream(bytes));
            predictions.Add(engine.Predict(new UploadedImage { Image = image }));
        }
        // walkthrough sample end
        return [.. predictions];
    }

    [Test]
    [Trains]
    public void AnImageFromMemoryScoresAsItsFileThroughTheLoadedModelWithoutItsLoader()
    {
        using var folder = new TemporaryDirectory();
        FashionMnistFiles.Files files = FashionMnistFiles.Write(folder.File("data"), 64, 0, 8);
        var ml = new MLContext(seed: 1);
        IDataView train = ml.Data.LoadFromTextFile<ImageRow>(files.TrainCsv, separatorChar: ',', hasHeader: true, allowQuoting: true);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.LoadImagesSafely("Image", files.ImageFolder, "ImagePath", log: ml))
            .Append(ml.Transforms.ResizeImages("Image", imageWidth: 64, imageHeight: 64))
            .Append(ml.Transforms.ExtractPixels("Features", "Image", colorsToExtract: ImagePixelExtractingEstimator.ColorBits.Red, scaleImage: 1f / 255))
            .Append(ml.MulticlassClassification.Trainers.BnInception(new BnInceptionMulticlassTrainer.Options
            {
                ImageSize = 64,
                Training = TrainerOptions.PaperBnX5 with { Epochs = 1, BatchSize = 4, Seed = 3, Augmentation = AugmentationOptions.None },
            }))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));
        string modelPath = folder.File("model.zip");
        using (var model = pipeline.Fit(train))
        {
            ml.Model.Save(model, train.Schema, modelPath);
        }

        // The Fashion-MNIST test PNGs (28×28), and a PNG of another size than UploadedImage's type.
        string[] paths = [.. ml.Data.CreateEnumerable<ImageRow>(ml.Data.LoadFromTextFile<ImageRow>(files.TestCsv, separatorChar: ',', hasHeader: true, allowQuoting: true), reuseRowObject: false)
            .Select(row => row.ImagePath), "noise-30x20.png"];
        using (SKBitmap noise = TestImages.Noise(30, 20, seed: 5))
        {
            File.WriteAllBytes(Path.Combine(files.ImageFolder, paths[^1]), TestImages.Encode(noise, SKEncodedImageFormat.Png));
        }

        // The reference: the whole loaded chain, ML.NET's LoadImages reading each file, labels empty.
        ml.TempFilePath = folder.File("load-temporary");
        Directory.CreateDirectory(ml.TempFilePath);
        Prediction[] fromFiles;
        using (var loaded = (TransformerChain<ITransformer>)BnInceptionModelFile.Load(ml, modelPath, out _))
        {
            Assert.That(loaded.Select(step => step.GetType().Name).ToArray(), Is.EqualTo(new[]
            {
                "ValueToKeyMappingTransformer", "ImageLoadingTransformer", "ImageResizingTransformer", "ImagePixelExtractingTransformer",
                "TransformerChain`1", "KeyToValueMappingTransformer",
            }), "the saved chain: the label's mapping, ML.NET's loader, the resize and pixels, the network's chain, the class names");
            using var byFile = ml.Model.CreatePredictionEngine<ImageRow, Prediction>(loaded, new PredictionEngineOptions { OwnsTransformer = false });
            fromFiles = [.. paths.Select(path => byFile.Predict(new ImageRow { ImagePath = path }))];

            // Scoring rows have no label, but the chain's first step reads the column; and ML.NET
            // needs the image's type and size on the property.
            var fromImage = new TransformerChain<ITransformer>([.. loaded.Where(step => step is not ImageLoadingTransformer)]);
            var options = new PredictionEngineOptions { OwnsTransformer = false };
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => ml.Model.CreatePredictionEngine<WithoutLabel, Prediction>(fromImage, options))!.Message,
                Does.Contain("Could not find input column 'Label'"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => ml.Model.CreatePredictionEngine<WithoutImageType, Prediction>(fromImage, options))!.Message,
                Does.Contain("Could not determine an IDataView type"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => ml.Model.CreatePredictionEngine<WithoutImageSize, Prediction>(fromImage, options))!.Message,
                Does.Contain("Must be positive"));
        }

        Prediction[] fromMemory = ScoreUploads(ml, modelPath, paths.Select(path => File.ReadAllBytes(Path.Combine(files.ImageFolder, path))));
        Assert.That(Directory.GetFileSystemEntries(ml.TempFilePath), Is.Empty, "disposing the chain without its loader deletes ML.NET's copy of the network");

        double worst = fromFiles.Zip(fromMemory, (a, b) => a.Score.Zip(b.Score, (x, y) => Math.Abs(x - y)).Max()).Max();
        TestContext.Out.WriteLine($"predicted: {string.Join(", ", fromFiles.Select(p => p.PredictedLabel))}; largest score difference {worst:G3}");
        Assert.That(fromMemory.Select(p => p.PredictedLabel), Is.EqualTo(fromFiles.Select(p => p.PredictedLabel)));
        Assert.That(fromFiles.Select(p => p.PredictedLabel), Is.All.AnyOf(PipelineData.ClassNames), "a class name for each image");
        for (int i = 0; i < paths.Length; i++)
        {
            Assert.That(fromFiles[i].Score, Has.Length.EqualTo(10));
            Assert.That(fromMemory[i].Score, Is.EqualTo(fromFiles[i].Score).Within(1e-5), paths[i]);
        }
    }

    [Test]
    public void AnImageFromAStreamIsAsStoredWhereTheSafeLoaderTurnsItUprightAndConvertsItsGamma()
    {
        // Stored 40×20, left half red; EXIF orientation 6 shows it 20×40, red on top.
        using SKBitmap marked = TestImages.Draw(40, 20, SKColors.White, canvas => canvas.Fill(0, 0, 20, 20, SKColors.Red));
        byte[] rotated = ExifOrientation.Insert(TestImages.Encode(marked, SKEncodedImageFormat.Jpeg, 100), 6);
        // gAMA 1.0: linear light, mid-grey 128; in sRGB, 188.
        byte[] linear = PngWriter.Write(2, 1, 8, PngWriter.Rgb, _ => [128, 128, 128, 0, 0, 0], gamma: 100000);

        using MLImage asStored = MLImage.CreateFromStream(new MemoryStream(rotated));
        Assert.That((asStored.Width, asStored.Height), Is.EqualTo((40, 20)), "MLImage ignores the EXIF orientation");
        TestImages.AssertColor(TestImages.Pixel(asStored, 5, 10), (255, 0, 0, 255), 4, "red still on the left");
        using MLImage forwardOnly = MLImage.CreateFromStream(new ForwardOnlyStream(rotated));
        Assert.That((forwardOnly.Width, forwardOnly.Height), Is.EqualTo((40, 20)), "a stream that cannot seek decodes too");
        using MLImage grey = MLImage.CreateFromStream(new MemoryStream(linear));
        Assert.That(TestImages.Pixel(grey, 0, 0), Is.EqualTo(((byte)128, (byte)128, (byte)128, (byte)255)), "MLImage ignores the gamma");

        using var folder = new TemporaryDirectory();
        File.WriteAllBytes(folder.File("rotated.jpg"), rotated);
        File.WriteAllBytes(folder.File("linear.png"), linear);
        using MLImage upright = ImageRows.LoadOne(folder.Path, "rotated.jpg");
        Assert.That((upright.Width, upright.Height), Is.EqualTo((20, 40)), "LoadImagesSafely turns it upright");
        using MLImage converted = ImageRows.LoadOne(folder.Path, "linear.png");
        TestImages.AssertColor(TestImages.Pixel(converted, 0, 0), (188, 188, 188, 255), 1, "LoadImagesSafely converts to sRGB");
    }

    [Test]
    public void TheWalkthroughShowsThisSample()
    {
        string walkthrough = File.ReadAllText(Path.Combine(Path.GetDirectoryName(ThisFile())!, "..", "..", "docs", "walkthrough.md"));
        string section = walkthrough[walkthrough.IndexOf("## Scoring an image from memory", StringComparison.Ordinal)..];
        string shown = section[(section.IndexOf("```csharp\n", StringComparison.Ordinal) + "```csharp\n".Length)..];
        shown = shown[..shown.IndexOf("```", StringComparison.Ordinal)];
        string sample = string.Concat(Regex.Matches(File.ReadAllText(ThisFile()), @"// walkthrough sample start\n(.*?)// walkthrough sample end", RegexOptions.Singleline)
            .Select(match => match.Groups[1].Value));
        Assert.That(Lines(shown), Is.EqualTo(Lines(sample)), "docs/walkthrough.md's sample is this file's, word for word");
    }

    private static string[] Lines(string code) => code.Split('\n').Select(line => line.Trim()).Where(line => line.Length > 0).ToArray();

    private static string ThisFile([CallerFilePath] string path = "") => path;
}
