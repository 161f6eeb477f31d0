using System.Text.RegularExpressions;
using MLNet.BNInception.Images;
using SkiaSharp;

namespace MLNet.BNInception.Tests.Images;

/// <summary>
/// A large JPEG with a small minimum size decodes at libjpeg-turbo's n/8 scale, the smallest that is still at
/// least the minimum, without the full-size bitmap ever being held: the process's peak resident memory and
/// its managed allocations grow by far less than a 4000x3000 bitmap's 48 MB, while decoding at full size
/// grows them by at least that (which shows the measure can see it).
/// </summary>
public sealed partial class LargeImageDecodingTests
{
    private const int Width = 4000;
    private const int Height = 3000;
    private const long FullBitmapBytes = (long)Width * Height * 4;

    private TemporaryDirectory _folder = null!;

    [OneTimeSetUp]
    public void WriteLargeJpeg()
    {
        _folder = new TemporaryDirectory();
        // Quadrants red, green / blue, white, so a scaled decode can be checked for its content too.
        using (SKBitmap quadrants = TestImages.Draw(Width, Height, SKColors.White, canvas =>
        {
            canvas.Fill(0, 0, Width / 2, Height / 2, new SKColor(255, 0, 0));
            canvas.Fill(Width / 2, 0, Width / 2, Height / 2, new SKColor(0, 255, 0));
            canvas.Fill(0, Height / 2, Width / 2, Height / 2, new SKColor(0, 0, 255));
        }))
        {
            File.WriteAllBytes(_folder.File("large.jpg"), TestImages.Encode(quadrants, SKEncodedImageFormat.Jpeg, 90));
        }

        using SKBitmap small = TestImages.Draw(1600, 1200, SKColors.White, canvas => canvas.Fill(0, 0, 200, 200, SKColors.Red));
        byte[] jpeg = TestImages.Encode(small, SKEncodedImageFormat.Jpeg, 90);
        File.WriteAllBytes(_folder.File("rotated.jpg"), ExifOrientation.Insert(jpeg, 6));
        File.WriteAllBytes(_folder.File("large.png"), TestImages.Encode(small, SKEncodedImageFormat.Png));
    }

    [OneTimeTearDown]
    public void DeleteFolder() => _folder.Dispose();

    // Expected sizes are libjpeg-turbo's scaled sizes, ceil(size * n / 8), for the smallest n that reaches the minimum.
    [TestCase(0, 0, 4000, 3000)]
    [TestCase(500, 375, 500, 375)] // 1/8
    [TestCase(224, 224, 500, 375)] // 1/8 is already larger than 224x224
    [TestCase(500, 376, 1000, 750)] // 1/8 is one row short: 2/8
    [TestCase(1001, 0, 1500, 1125)] // 3/8
    [TestCase(3500, 2625, 3500, 2625)] // 7/8
    [TestCase(3501, 1, 4000, 3000)] // nothing smaller than full size reaches it
    public void DecodesAtTheSmallestScaleThatReachesTheMinimum(int minimumWidth, int minimumHeight, int width, int height)
    {
        using MLImage image = ImageRows.LoadOne(_folder.Path, "large.jpg", minimumWidth, minimumHeight);

        Assert.That((image.Width, image.Height), Is.EqualTo((width, height)));
        // The quadrant centres keep their colours at any scale.
        TestImages.AssertColor(TestImages.Pixel(image, width / 4, height / 4), (255, 0, 0, 255), 3, "top-left quadrant");
        TestImages.AssertColor(TestImages.Pixel(image, 3 * width / 4, height / 4), (0, 255, 0, 255), 3, "top-right quadrant");
        TestImages.AssertColor(TestImages.Pixel(image, width / 4, 3 * height / 4), (0, 0, 255, 255), 3, "bottom-left quadrant");
        TestImages.AssertColor(TestImages.Pixel(image, 3 * width / 4, 3 * height / 4), (255, 255, 255, 255), 3, "bottom-right quadrant");
    }

    [Test]
    public void TheMinimumIsForTheUprightImage()
    {
        // Stored 1600x1200 with orientation 6, shown 1200x1600: a minimum of 150x200 is met by 1/8 (shown 150x200).
        using MLImage image = ImageRows.LoadOne(_folder.Path, "rotated.jpg", 150, 200);

        Assert.That((image.Width, image.Height), Is.EqualTo((150, 200)));
        TestImages.AssertColor(TestImages.Pixel(image, 148, 1), (255, 0, 0, 255), 3, "the mark, stored top-left, is shown top-right");
    }

    [Test]
    public void FormatsWithoutScaledDecodingDecodeAtFullSize()
    {
        using MLImage image = ImageRows.LoadOne(_folder.Path, "large.png", 100, 100);

        Assert.That((image.Width, image.Height), Is.EqualTo((1600, 1200)), "PNG's codec has no scaled decoding; ResizeImages does the rest");
    }

    [Test]
    public void ScaledDecodingNeverHoldsTheFullSizeBitmap()
    {
        MeasureDecode(0, 0); // once unmeasured: loads SkiaSharp's native code and compiles the paths measured below

        (long scaledPeak, long scaledManaged) = MeasureDecode(500, 375);
        (long fullPeak, long fullManaged) = MeasureDecode(0, 0);

        Assert.Multiple(() =>
        {
            // Controls: each measure sees a full-size bitmap (the decode buffer is managed, the MLImage's copy
            // native), or a small reading below would prove nothing.
            Assert.That(fullPeak, Is.GreaterThanOrEqualTo(FullBitmapBytes * 9 / 10), "peak resident memory growth of the full-size decode");
            Assert.That(fullManaged, Is.GreaterThanOrEqualTo(FullBitmapBytes), "managed allocation of the full-size decode");
            Assert.That(scaledPeak, Is.LessThan(FullBitmapBytes / 4), "peak resident memory growth of the scaled decode");
            Assert.That(scaledManaged, Is.LessThan(FullBitmapBytes / 4), "managed allocation of the scaled decode");
        });
    }

    /// <summary>
    /// Decodes large.jpg once through the loader's getter and returns how much the process's peak resident set
    /// (VmHWM, reset first through /proc/self/clear_refs) rose above the resident set before, and how many
    /// managed bytes this thread allocated.
    /// </summary>
    private (long PeakGrowth, long ManagedAllocated) MeasureDecode(int minimumWidth, int minimumHeight)
    {
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("large", "large.jpg"));
        IDataView output = mlContext.Transforms
            .LoadImagesSafely(ImageRows.ImageColumn, _folder.Path, ImageRows.PathColumn, InvalidImagePolicy.Fail, minimumWidth, minimumHeight)
            .Fit(input).Transform(input);
        using DataViewRowCursor cursor = output.GetRowCursor(output.Schema);
        ValueGetter<MLImage> getImage = cursor.GetGetter<MLImage>(output.Schema[ImageRows.ImageColumn]);
        Assert.That(cursor.MoveNext(), Is.True);
        MLImage image = null!;

        GC.Collect();
        GC.WaitForPendingFinalizers();
        // Aggressive: the GC also hands its free memory back to the system, so that the decode's
        // managed buffer takes new pages whatever earlier tests in this process left committed (in a
        // whole-suite run the full-size decode once grew the peak by 0 bytes, its 48 MB reused).
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        long residentBefore = StatusKilobytes("VmRSS") * 1024;
        File.WriteAllText("/proc/self/clear_refs", "5"); // Linux: resets VmHWM to the current resident set
        long managedBefore = GC.GetAllocatedBytesForCurrentThread();

        getImage(ref image);

        long managed = GC.GetAllocatedBytesForCurrentThread() - managedBefore;
        long peak = (StatusKilobytes("VmHWM") * 1024) - residentBefore;
        Assert.That((image.Width, image.Height), Is.EqualTo(minimumWidth == 0 ? (Width, Height) : (minimumWidth, minimumHeight)));
        image.Dispose();
        TestContext.Out.WriteLine($"minimum {minimumWidth}x{minimumHeight}: peak resident growth {peak / 1e6:F1} MB, managed {managed / 1e6:F1} MB");
        return (peak, managed);
    }

    private static long StatusKilobytes(string field)
    {
        Match match = StatusField().Match(File.ReadAllText("/proc/self/status"));
        while (match.Success && match.Groups[1].Value != field)
        {
            match = match.NextMatch();
        }

        Assert.That(match.Success, Is.True, $"/proc/self/status has no {field}");
        return long.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^(\w+):\s+(\d+) kB$", RegexOptions.Multiline)]
    private static partial Regex StatusField();
}
