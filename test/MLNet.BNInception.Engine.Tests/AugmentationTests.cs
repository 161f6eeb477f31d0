using MLNet.BNInception.Engine.Interop;
using MLNet.BNInception.Engine.Training;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// The batched random resized crop and flip (docs/engine.md, "Augmentation on the device"): its boxes
/// against torchvision's rule written out for one image at a time, its resampling against
/// interpolate on each box alone (TorchSharp's and PyTorch 1.13's), and training on images larger
/// than the network's input.
/// </summary>
public class AugmentationTests : SingleThreadedFixture
{
    private const int Draws = CropBoxes.DrawsPerImage;

    // Each image is a left-to-right ramp with its own offset, so flips and crops are visible.
    private static Tensor Ramp(int count)
    {
        using DisposeScope scope = NewDisposeScope();
        Tensor offsets = TestTensors.Times(TestTensors.Range(count, ScalarType.Float32).reshape(count, 1, 1, 1), 100);
        Tensor ramps = TestTensors.Range(8, ScalarType.Float32).reshape(1, 1, 1, 8).expand(count, 1, 8, 8);
        return ramps.add(offsets, TestTensors.One).contiguous().MoveToOuterDisposeScope();
    }

    [Test]
    public void FlipsAboutHalfTheImagesAndLeavesTheRestUntouched()
    {
        using DisposeScope scope = NewDisposeScope();
        Tensor images = Ramp(200);
        manual_seed(3);
        Tensor augmented = ImageAugmenter.Augment(images, new AugmentationOptions { CropScale = (1, 1), CropAspectRatio = (1, 1) }, outputSize: 8);
        int flipped = 0;
        for (int i = 0; i < 200; i++)
        {
            float[] row = augmented[i, 0].select(0, 0).data<float>().ToArray();
            float[] original = images[i, 0].select(0, 0).data<float>().ToArray();
            if (row.SequenceEqual(original.Reverse()))
            {
                flipped++;
            }
            else
            {
                Assert.That(row, Is.EqualTo(original), $"image {i} is neither itself nor its mirror");
            }
        }

        Assert.That(flipped, Is.InRange(70, 130));
    }

    [Test]
    public void CropsStayInsideTheImageAndAreSeeded()
    {
        using DisposeScope scope = NewDisposeScope();
        Tensor images = Ramp(50);
        var options = new AugmentationOptions { CropScale = (0.25, 0.5), HorizontalFlip = false };
        manual_seed(9);
        float[] first = ImageAugmenter.Augment(images, options, outputSize: 8).data<float>().ToArray();
        manual_seed(9);
        float[] again = ImageAugmenter.Augment(images, options, outputSize: 8).data<float>().ToArray();
        Assert.That(again, Is.EqualTo(first));

        Tensor cropped = tensor(first, [50, 1, 8, 8]);
        for (int i = 0; i < 50; i++)
        {
            float[] values = cropped[i].data<float>().ToArray();
            // A crop of at most half the area, stretched back: values stay within the image's own
            // range, and never span all of it.
            Assert.That(values.Min(), Is.GreaterThanOrEqualTo((i * 100) - 1e-3));
            Assert.That(values.Max(), Is.LessThanOrEqualTo((i * 100) + 7 + 1e-3));
            Assert.That(values.Max() - values.Min(), Is.LessThan(7));
        }
    }

    /// <summary>
    /// The device computes all ten attempts for every image at once and picks the first that fits by
    /// a mask; the reference takes the attempts one at a time, as torchvision's get_params does, from
    /// the same uniform draws. Every box and flip must agree, the fallbacks included.
    /// </summary>
    [TestCase(256, 320, 0.08, 1.0, 3.0 / 4, 4.0 / 3)]
    [TestCase(320, 256, 0.08, 1.0, 3.0 / 4, 4.0 / 3)]
    [TestCase(224, 224, 0.08, 1.0, 3.0 / 4, 4.0 / 3)]
    [TestCase(9, 7, 0.08, 1.0, 3.0 / 4, 4.0 / 3)]
    [TestCase(100, 300, 0.5, 1.0, 0.5, 4.0)]
    [TestCase(300, 100, 0.9, 1.0, 1.5, 6.0)]
    public void BoxesFollowTorchvisionsRuleDrawForDraw(int height, int width, double scaleMin, double scaleMax, double ratioMin, double ratioMax)
    {
        const int count = 3000;
        var options = new AugmentationOptions { CropScale = (scaleMin, scaleMax), CropAspectRatio = (ratioMin, ratioMax) };
        using DisposeScope scope = NewDisposeScope();
        manual_seed(17);
        float[] draws = rand([count, Draws]).data<float>().ToArray();
        manual_seed(17);
        CropBoxes boxes = CropBoxes.Draw(count, height, width, options, CPU);
        long[] top = Longs(boxes.Top), left = Longs(boxes.Left), rows = Longs(boxes.Height), columns = Longs(boxes.Width);
        bool[] flip = boxes.Flip.data<bool>().ToArray();
        int fallbacks = 0;
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<float> u = draws.AsSpan(i * Draws, Draws);
            (long Top, long Left, long Height, long Width, bool Fallback) expected = ReferenceBox(height, width, u, options);
            fallbacks += expected.Fallback ? 1 : 0;
            Assert.That((top[i], left[i], rows[i], columns[i]), Is.EqualTo((expected.Top, expected.Left, expected.Height, expected.Width)), $"image {i}");
            Assert.That(flip[i], Is.EqualTo(u[^1] < 0.5f), $"image {i}'s flip");
        }

        TestContext.Out.WriteLine($"{height}x{width}: {fallbacks} of {count} boxes are the central fallback");
    }

    /// <summary>
    /// Sides are rounded, so a box's own area and ratio may stray from the ranges by rounding; the
    /// unrounded area and ratio lie in the intervals its rounded sides allow, and those must meet
    /// the ranges. The draws must also cover the ranges and place boxes uniformly.
    /// </summary>
    [Test]
    public void BoxesKeepToTheScaleAndRatioRangesAndSpreadOverThem()
    {
        const int count = 4000, height = 300, width = 400;
        var options = new AugmentationOptions();
        using DisposeScope scope = NewDisposeScope();
        manual_seed(5);
        CropBoxes boxes = CropBoxes.Draw(count, height, width, options, CPU);
        long[] top = Longs(boxes.Top), left = Longs(boxes.Left), rows = Longs(boxes.Height), columns = Longs(boxes.Width);
        double area = height * width;
        var scales = new List<double>();
        var logRatios = new List<double>();
        var placements = new List<double>();
        for (int i = 0; i < count; i++)
        {
            long h = rows[i], w = columns[i];
            Assert.That(h, Is.InRange(1, height), $"image {i}");
            Assert.That(w, Is.InRange(1, width), $"image {i}");
            Assert.That(top[i], Is.InRange(0, height - h), $"image {i}");
            Assert.That(left[i], Is.InRange(0, width - w), $"image {i}");
            Assert.That((w + 0.5) * (h + 0.5), Is.GreaterThanOrEqualTo(options.CropScale.Min * area), $"image {i}'s area");
            Assert.That((w - 0.5) * (h - 0.5), Is.LessThanOrEqualTo(options.CropScale.Max * area), $"image {i}'s area");
            Assert.That((w + 0.5) / (h - 0.5), Is.GreaterThanOrEqualTo(options.CropAspectRatio.Min), $"image {i}'s ratio");
            Assert.That((w - 0.5) / (h + 0.5), Is.LessThanOrEqualTo(options.CropAspectRatio.Max), $"image {i}'s ratio");
            scales.Add(w * h / area);
            logRatios.Add(Math.Log((double)w / h));
            if (h < height - 20)
            {
                placements.Add((double)top[i] / (height - h));
            }
        }

        // Both ends of both ranges are reached; large boxes fit less often than small ones, so more
        // than half the boxes are below the middle of the scale range (torchvision's bias too).
        Assert.That(scales.Min(), Is.LessThan(0.09));
        Assert.That(scales.Max(), Is.GreaterThan(0.95));
        Assert.That(scales.Count(scale => scale < 0.54), Is.InRange(count / 2, count * 3 / 4));
        Assert.That(logRatios.Min(), Is.LessThan(Math.Log(0.76)));
        Assert.That(logRatios.Max(), Is.GreaterThan(Math.Log(1.31)));
        Assert.That(placements.Average(), Is.InRange(0.47, 0.53), "boxes are placed uniformly from top to bottom");
    }

    /// <summary>When no attempt fits, the box is the largest central one within the ratio range, as in torchvision.</summary>
    [TestCase(400, 40, 10.0, 20.0, 198, 0, 4, 40, Description = "a tall image and wide crops: full width, height width/10")]
    [TestCase(40, 400, 0.05, 0.1, 0, 198, 40, 4, Description = "a wide image and tall crops: full height, width height/10")]
    public void FallsBackToTheCentralCropWhenNoAttemptFits(int height, int width, double ratioMin, double ratioMax, long top, long left, long rows, long columns)
    {
        using DisposeScope scope = NewDisposeScope();
        manual_seed(11);
        CropBoxes boxes = CropBoxes.Draw(200, height, width, new AugmentationOptions { CropAspectRatio = (ratioMin, ratioMax) }, CPU);
        Assert.That(Longs(boxes.Top), Is.All.EqualTo(top));
        Assert.That(Longs(boxes.Left), Is.All.EqualTo(left));
        Assert.That(Longs(boxes.Height), Is.All.EqualTo(rows));
        Assert.That(Longs(boxes.Width), Is.All.EqualTo(columns));
    }

    /// <summary>
    /// The batched resampling against TorchSharp's interpolate on each box alone (narrow, resize,
    /// flip), on a non-square source larger than the output with boxes that both shrink and enlarge,
    /// in either memory layout.
    /// </summary>
    [TestCase(false)]
    [TestCase(true)]
    public void ResamplesEachBoxAsInterpolateDoesOnItsOwn(bool channelsLast)
    {
        const int count = 24, size = 64;
        using DisposeScope scope = NewDisposeScope();
        manual_seed(23);
        Tensor images = rand([count, 3, 70, 90]);
        CropBoxes boxes = CropBoxes.Draw(count, 70, 90, new AugmentationOptions(), CPU);
        Tensor source = channelsLast ? ChannelsLast.Of(images) : images;
        Tensor batched = ImageAugmenter.Resample(source, boxes, size);
        Assert.That(batched.shape, Is.EqualTo(new long[] { count, 3, size, size }));

        long[] top = Longs(boxes.Top), left = Longs(boxes.Left), rows = Longs(boxes.Height), columns = Longs(boxes.Width);
        bool[] flip = boxes.Flip.data<bool>().ToArray();
        Assert.That(rows.Any(h => h < size) && rows.Any(h => h > size) && columns.Any(w => w > size), "boxes both enlarge and shrink");
        Assert.That(flip.Distinct().Count(), Is.EqualTo(2), "some images are flipped and some not");
        var expected = new Tensor[count];
        for (int i = 0; i < count; i++)
        {
            Tensor crop = images.narrow(0, i, 1).narrow(2, top[i], rows[i]).narrow(3, left[i], columns[i]);
            Tensor resized = F.interpolate(crop, [size, size], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
            expected[i] = flip[i] ? resized.flip(3) : resized;
        }

        double worst = batched.sub(cat(expected)).abs().max().item<float>();
        TestContext.Out.WriteLine($"max |batched - interpolate| = {worst:G3}");
        Assert.That(worst, Is.LessThan(1e-5));
        if (channelsLast)
        {
            Assert.That(TestTensors.SameBytes(batched, ImageAugmenter.Resample(images, boxes, size)), "the layout does not change the result");
        }
    }

    /// <summary>The same comparison against PyTorch 1.13's interpolate, an implementation independent of the libtorch we run on.</summary>
    [Test]
    public void ResamplesEachBoxAsPyTorchDoes()
    {
        const int count = 16, size = 64;
        using var folder = new TemporaryDirectory();
        using DisposeScope scope = NewDisposeScope();
        manual_seed(29);
        Tensor images = rand([count, 3, 96, 80]);
        CropBoxes boxes = CropBoxes.Draw(count, 96, 80, new AugmentationOptions(), CPU);
        Tensor corners = stack([boxes.Top, boxes.Left, boxes.Height, boxes.Width], 1).to_type(ScalarType.Int64);
        PyTorchStateDict.Save([new("images", images), new("boxes", corners), new("flips", boxes.Flip)], folder.File("batch.pt"));
        PythonReference.Run("resized_crop_reference.py", folder.File("batch.pt"), folder.File("resized.pt"), size.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Tensor reference = PyTorchStateDict.Load(folder.File("resized.pt")).Single(pair => pair.Key == "resized").Value;

        double worst = ImageAugmenter.Resample(images, boxes, size).sub(reference).abs().max().item<float>();
        TestContext.Out.WriteLine($"max |batched - PyTorch 1.13| = {worst:G3}");
        Assert.That(worst, Is.LessThan(1e-5));
    }

    /// <summary>
    /// A 64 × 128 image whose column k holds k², its box the whole image, resized to 64 × 64: each
    /// output column is the antialiased average of four source columns with weights 1, 3, 3, 1 (the
    /// triangle filter widened twofold), centred at 2j + 0.5 with variance 0.75, so interior column j
    /// holds (2j + 0.5)² + 0.75, worked out by hand. Plain bilinear, two columns, would give + 0.25.
    /// </summary>
    [Test]
    public void ShrinksALargerNonSquareImageWithTheWidenedFilter()
    {
        using DisposeScope scope = NewDisposeScope();
        float[] squares = Enumerable.Range(0, 128).Select(k => (float)k * k).ToArray();
        Tensor images = tensor(squares, [1, 1, 1, 128]).expand(2, 1, 64, 128).contiguous();
        manual_seed(2);
        Tensor output = ImageAugmenter.Augment(images, new AugmentationOptions { CropScale = (1, 1), CropAspectRatio = (2, 2), HorizontalFlip = false }, outputSize: 64);
        Assert.That(output.shape, Is.EqualTo(new long[] { 2, 1, 64, 64 }));
        float[] values = output.data<float>().ToArray();
        for (int j = 1; j < 63; j++)
        {
            double centre = (2 * j) + 0.5;
            Assert.That(values[(64 * 64) + (17 * 64) + j], Is.EqualTo((centre * centre) + 0.75).Within(0.01), $"column {j}");
        }
    }

    private static readonly BnInceptionOptions Model = new() { InputSize = 64, InputChannels = 1, NumClasses = 3 };

    private static TrainerOptions Training(bool augmented) => new()
    {
        Epochs = 1, BatchSize = 3, LearningRate = 0.01, Seed = 3,
        Augmentation = augmented ? new AugmentationOptions() : AugmentationOptions.None,
    };

    /// <summary>
    /// Training takes images larger than the input, square or not, with augmentation (cropped) or
    /// without (resized whole), and so do validation, a ValidationFraction hold-out and evaluation;
    /// an image smaller than the input is refused, and the refusal names the size it needs.
    /// </summary>
    [Test]
    public void TrainingTakesLargerImagesCroppedOrResizedWhole()
    {
        using DisposeScope scope = NewDisposeScope();
        manual_seed(41);
        Tensor labels = tensor(new long[] { 0, 1, 2, 0, 1, 2 });
        Tensor larger = rand([6, 1, 80, 96]);
        Tensor exact = rand([6, 1, 64, 64]);

        using (TrainingResult trained = new BnInceptionTrainer(Model, Training(augmented: true)).Fit(larger, labels, exact, labels))
        {
            Assert.That(trained.History, Has.Count.EqualTo(1));
            Assert.That(double.IsFinite(trained.History[0].TrainLoss) && double.IsFinite(trained.History[0].ValidationLoss!.Value));
        }

        using (TrainingResult trained = new BnInceptionTrainer(Model, Training(augmented: false)).Fit(larger, labels, larger, labels))
        {
            Assert.That(double.IsFinite(trained.History[0].TrainLoss) && double.IsFinite(trained.History[0].ValidationLoss!.Value));

            // Evaluation resizes a larger image whole: it scores as the image resized beforehand.
            Tensor resized = nn.functional.interpolate(larger, [64, 64], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
            (double largerLoss, double largerAccuracy) = BnInceptionTrainer.Evaluate(trained.Model, larger, labels);
            (double resizedLoss, double resizedAccuracy) = BnInceptionTrainer.Evaluate(trained.Model, resized, labels);
            Assert.That(largerLoss, Is.EqualTo(resizedLoss).Within(1e-5));
            Assert.That(largerAccuracy, Is.EqualTo(resizedAccuracy));
        }

        // Augmented, the crops are cut from the larger images themselves (RandomResizedCrop's recipe):
        // a trainer that resized them whole first would give, with the same draws, the first step of
        // the run on images resized beforehand. Without augmentation they are resized whole: that
        // step, to rounding (seen: 4e-6 apart without augmentation, 0.066 with). Only the first step:
        // with batches of 3, BN lets the rounding grow to 0.005 by the second.
        Tensor resizedFirst = nn.functional.interpolate(larger, [64, 64], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
        foreach (bool augmented in new[] { true, false })
        {
            double difference = Math.Abs(FirstLoss(Training(augmented), larger, labels) - FirstLoss(Training(augmented), resizedFirst, labels));
            Assert.That(difference, augmented ? Is.GreaterThan(1e-2) : Is.LessThan(1e-4),
                augmented ? "crops of the larger images, not of them resized" : "the larger images resized whole");
        }

        using (TrainingResult trained = new BnInceptionTrainer(Model, Training(augmented: true) with { ValidationFraction = 0.5 }).Fit(larger, labels))
        {
            Assert.That(trained.History[0].ValidationLoss, Is.Not.Null);
        }

        var smaller = Assert.Throws<ArgumentException>(() => new BnInceptionTrainer(Model, Training(augmented: true)).Fit(rand([6, 1, 60, 96]), labels));
        Assert.That(smaller!.Message, Does.Contain("H and W at least 64").And.Contain("got [6, 1, 60, 96]"));

        var validation = Assert.Throws<ArgumentException>(() => new BnInceptionTrainer(Model, Training(augmented: false)).Fit(larger, labels, rand([6, 1, 64, 63]), labels));
        Assert.That(validation!.Message, Does.Contain("validation images must be N x 1 x H x W with H and W at least 64").And.Contain("[6, 1, 64, 63]"));

        // A batch source is checked batch by batch, as the trainer reads it.
        var source = new InMemoryBatchSource(larger, labels, Model);
        using (TrainingResult trained = new BnInceptionTrainer(Model, Training(augmented: false)).Fit(source))
        {
            Assert.That(double.IsFinite(trained.History[0].TrainLoss));
        }

        Assert.Throws<ArgumentException>(() => _ = new InMemoryBatchSource(rand([6, 2, 80, 96]), labels, Model, "evaluation"));
    }

    private static double FirstLoss(TrainerOptions options, Tensor images, Tensor labels)
    {
        var losses = new List<double>();
        using TrainingResult trained = new BnInceptionTrainer(Model, options).Fit(images, labels, onStep: progress => losses.Add(progress.Loss));
        return losses[0];
    }

    private static long[] Longs(Tensor values) => values.to_type(ScalarType.Int64).data<long>().ToArray();

    // torchvision's RandomResizedCrop.get_params for one image, attempt by attempt, in double
    // precision, from the draws the batch takes for it: four an attempt, then the flip's.
    private static (long Top, long Left, long Height, long Width, bool Fallback) ReferenceBox(long height, long width, ReadOnlySpan<float> u, AugmentationOptions options)
    {
        double area = height * width;
        double logMin = Math.Log(options.CropAspectRatio.Min), logMax = Math.Log(options.CropAspectRatio.Max);
        for (int attempt = 0; attempt < CropBoxes.CropAttempts; attempt++)
        {
            double targetArea = area * (options.CropScale.Min + (u[attempt * 4] * (options.CropScale.Max - options.CropScale.Min)));
            double ratio = Math.Exp(logMin + (u[(attempt * 4) + 1] * (logMax - logMin)));
            long w = (long)Math.Round(Math.Sqrt(targetArea * ratio));
            long h = (long)Math.Round(Math.Sqrt(targetArea / ratio));
            if (w > 0 && h > 0 && w <= width && h <= height)
            {
                long top = (long)((double)u[(attempt * 4) + 2] * (height - h + 1));
                long left = (long)((double)u[(attempt * 4) + 3] * (width - w + 1));
                return (Math.Min(top, height - h), Math.Min(left, width - w), h, w, false);
            }
        }

        double imageRatio = (double)width / height;
        long cropWidth = width, cropHeight = height;
        if (imageRatio < options.CropAspectRatio.Min)
        {
            cropHeight = (long)Math.Round(width / options.CropAspectRatio.Min);
        }
        else if (imageRatio > options.CropAspectRatio.Max)
        {
            cropWidth = (long)Math.Round(height * options.CropAspectRatio.Max);
        }

        return ((height - cropHeight) / 2, (width - cropWidth) / 2, cropHeight, cropWidth, true);
    }
}
