using MLNet.BNInception.Images;

namespace MLNet.BNInception.Tests.Images;

/// <summary>
/// LoadImagesSafely over the hostile corpus (test/Shared/HostileFiles): every good image loads at its size,
/// every other row is skipped with the reason its file calls for, nothing waits on the pipe or reads a device,
/// and nothing in the folder changes.
/// </summary>
public sealed class HostileFileTests
{
    [Test]
    public void EveryRowIsLoadedOrNamedWithItsReasonAndTheFolderIsUntouched()
    {
        using var work = new TemporaryDirectory();
        IReadOnlyList<HostileFile> corpus = HostileFileCorpus.WriteTo(work.Path);
        SortedDictionary<string, string> before = HostileFileCorpus.Snapshot(work.Path);
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, [.. corpus.Select((file, i) => ($"row {i}", file.RowPath))]);
        var skipped = new List<SkippedImage>();
        IDataView output = mlContext.Transforms.LoadImagesSafely(Skipping(work.Path, skipped)).Fit(input).Transform(input);

        // On its own thread, so that a loader that waits on the pipe (as one once did) fails the test
        // instead of hanging the suite.
        Task<Dictionary<string, MLImage>> reading = Task.Run(() => ImageRows.Images(output));
        Assert.That(reading.Wait(TimeSpan.FromMinutes(5)), Is.True, "reading the corpus did not finish: a row is waiting on something");
        Dictionary<string, MLImage> images = reading.Result;
        try
        {
            Assert.Multiple(() =>
            {
                for (int i = 0; i < corpus.Count; i++)
                {
                    HostileFile file = corpus[i];
                    SkippedImage? skip = skipped.SingleOrDefault(s => s.Row == i);
                    if (file.Reason is null)
                    {
                        Assert.That(skip, Is.Null, $"{file}: skipped ({skip?.Message})");
                        Assert.That(images.TryGetValue($"row {i}", out MLImage? image), Is.True, $"{file}: not loaded");
                        Assert.That((image?.Width, image?.Height), Is.EqualTo(((int?)file.Width, (int?)file.Height)), $"{file}: size");
                    }
                    else
                    {
                        Assert.That(images.ContainsKey($"row {i}"), Is.False, $"{file}: loaded");
                        Assert.That(skip?.Reason, Is.EqualTo(file.Reason), $"{file}: {skip?.Message}");
                        Assert.That(skip?.Path, Is.EqualTo(file.RowPath), $"{file}: the skipped row's path");
                    }
                }
            });

            TestContext.Out.WriteLine(string.Join("\n", skipped.Select(s => $"row {s.Row}: {s.Reason}: {s.Message}")));
            Assert.That(HostileFileCorpus.Snapshot(work.Path), Is.EqualTo(before), "the corpus folder changed");
        }
        finally
        {
            foreach (MLImage image in images.Values)
            {
                image.Dispose();
            }
        }
    }

    [Test]
    public void AnImageOverThePixelLimitIsRefusedAndOneUnderItLoads()
    {
        using var work = new TemporaryDirectory();
        File.WriteAllBytes(work.File("wide.png"), TestImages.SolidPng(300, 200, new SkiaSharp.SKColor(10, 20, 30)));
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("wide", "wide.png"));
        SafeImageLoadingOptions Limit(long pixels) => new()
        {
            OutputColumnName = ImageRows.ImageColumn,
            InputColumnName = ImageRows.PathColumn,
            ImageFolder = work.Path,
            MaximumPixels = pixels,
        };

        using (MLImage loaded = ImageRows.Images(mlContext.Transforms.LoadImagesSafely(Limit(60_000)).Fit(input).Transform(input))["wide"])
        {
            Assert.That((loaded.Width, loaded.Height), Is.EqualTo((300, 200)));
        }

        var refused = Assert.Throws<InvalidImageException>(() => ImageRows.Images(mlContext.Transforms.LoadImagesSafely(Limit(59_999)).Fit(input).Transform(input)))!;
        Assert.That(refused.Reason, Is.EqualTo(InvalidImageReason.TooManyPixels));
        Assert.That(refused.Message, Does.Contain("300x200 pixels").And.Contain("59999"));
        Assert.That(() => mlContext.Transforms.LoadImagesSafely(Limit(0)), Throws.ArgumentException.With.Message.Contains("MaximumPixels"));
    }

    [Test]
    public void AJpegDecodedSmallerCountsAtItsDecodedSizeUnlessItIsProgressive()
    {
        // 800x800 decodes at 1/8, 100x100, with a minimum of 100: under a limit of 20,000 pixels. Marked
        // progressive (SOF2), the same header counts at full size: libjpeg would hold every coefficient.
        using var work = new TemporaryDirectory();
        byte[] baseline = TestImages.SolidJpeg(800, 800, new SkiaSharp.SKColor(90, 120, 30));
        int frame = baseline.AsSpan().IndexOf([(byte)0xFF, (byte)0xC0]);
        byte[] progressive = (byte[])baseline.Clone();
        progressive[frame + 1] = 0xC2;
        File.WriteAllBytes(work.File("baseline.jpg"), baseline);
        File.WriteAllBytes(work.File("progressive.jpg"), progressive);
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("baseline", "baseline.jpg"), ("progressive", "progressive.jpg"));
        var skipped = new List<SkippedImage>();
        IDataView output = mlContext.Transforms.LoadImagesSafely(Skipping(work.Path, skipped) with
        {
            MinimumWidth = 100,
            MinimumHeight = 100,
            MaximumPixels = 20_000,
        }).Fit(input).Transform(input);

        Dictionary<string, MLImage> images = ImageRows.Images(output);
        Assert.That(images.Keys, Is.EqualTo(new[] { "baseline" }));
        Assert.That((images["baseline"].Width, images["baseline"].Height), Is.EqualTo((100, 100)));
        images["baseline"].Dispose();
        Assert.That(skipped.Single().Reason, Is.EqualTo(InvalidImageReason.TooManyPixels));
        Assert.That(skipped.Single().Message, Does.Contain("progressive"));
    }

    // Images from the tests' path column, with the rows that cannot be loaded skipped into a list.
    private static SafeImageLoadingOptions Skipping(string folder, List<SkippedImage> skipped) => new()
    {
        OutputColumnName = ImageRows.ImageColumn,
        InputColumnName = ImageRows.PathColumn,
        ImageFolder = folder,
        OnInvalidImage = InvalidImagePolicy.Skip,
        ImageSkipped = skipped.Add,
    };
}
