using MLNet.BNInception.Images;
using SkiaSharp;

namespace MLNet.BNInception.Tests.Images;

/// <summary>
/// InvalidImagePolicy.Skip: the rows with damaged files are gone and the others are there in order; each
/// skipped row is reported with its row and path (log and callback), and each pass with its count; every
/// cursor over a view sees the same rows, whatever columns it asks for, shuffled or split into a cursor set.
/// </summary>
public sealed class InvalidImageSkipTests
{
    private TemporaryDirectory _folder = null!;

    // Good rows between the damaged ones, each a different colour so a row cannot pass for another.
    private static readonly (string Name, SKColor Color)[] Good =
    [
        ("good-0", new SKColor(250, 0, 0)),
        ("good-1", new SKColor(0, 250, 0)),
        ("good-2", new SKColor(0, 0, 250)),
        ("good-3", new SKColor(250, 250, 0)),
    ];

    [OneTimeSetUp]
    public void WriteCorpus()
    {
        _folder = new TemporaryDirectory();
        DamagedImageCorpus.WriteTo(_folder.Path);
        foreach ((string name, SKColor color) in Good)
        {
            File.WriteAllBytes(_folder.File(name + ".png"), TestImages.SolidPng(8, 8, color));
        }
    }

    [OneTimeTearDown]
    public void DeleteCorpus() => _folder.Dispose();

    /// <summary>good-0, the damaged files, with good-1..3 spread among them; and where each damaged row is.</summary>
    private static (string Name, string Path)[] Rows()
    {
        var rows = new List<(string Name, string Path)> { (Good[0].Name, Good[0].Name + ".png") };
        int nextGood = 1;
        for (int i = 0; i < DamagedImageCorpus.Cases.Length; i++)
        {
            rows.Add((DamagedImageCorpus.Cases[i].Description, DamagedImageCorpus.Cases[i].RowPath));
            if (i % 4 == 1 && nextGood < Good.Length)
            {
                string name = Good[nextGood++].Name;
                rows.Add((name, name + ".png"));
            }
        }

        Assert.That(nextGood, Is.EqualTo(Good.Length), "every good row is among the damaged ones");

        return [.. rows];
    }

    private static readonly string[] GoodNames = [.. Good.Select(g => g.Name)];

    private sealed class Recorder
    {
        public List<SkippedImage> Skipped { get; } = [];

        public List<ImageLoadingPassSummary> Passes { get; } = [];

        public List<LoggingEventArgs> Log { get; } = [];

        public SafeImageLoadingOptions Options(MLContext mlContext, string folder)
        {
            mlContext.Log += (_, message) =>
            {
                if (message.Source.Contains(nameof(SafeImageLoadingCatalog.LoadImagesSafely), StringComparison.Ordinal))
                {
                    lock (Log)
                    {
                        Log.Add(message);
                    }
                }
            };
            return new SafeImageLoadingOptions
            {
                OutputColumnName = ImageRows.ImageColumn,
                InputColumnName = ImageRows.PathColumn,
                ImageFolder = folder,
                OnInvalidImage = InvalidImagePolicy.Skip,
                Log = mlContext,
                ImageSkipped = skipped => { lock (Skipped) { Skipped.Add(skipped); } },
                PassCompleted = pass => { lock (Passes) { Passes.Add(pass); } },
            };
        }
    }

    private (IDataView Output, Recorder Recorder) Transform((string Name, string Path)[] rows, Func<IDataView, IDataView>? source = null)
    {
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, rows);
        input = source?.Invoke(input) ?? input;
        var recorder = new Recorder();
        IDataView output = mlContext.Transforms.LoadImagesSafely(recorder.Options(mlContext, _folder.Path)).Fit(input).Transform(input);
        return (output, recorder);
    }

    [Test]
    public void DamagedRowsAreGoneAndTheOthersKeepTheirOrderAndImages()
    {
        (IDataView output, Recorder _) = Transform(Rows());

        Dictionary<string, MLImage> images = ImageRows.Images(output);
        Assert.That(images.Keys, Is.EqualTo(GoodNames), "the good rows, in input order");
        foreach ((string name, SKColor color) in Good)
        {
            Assert.That(TestImages.Pixel(images[name], 3, 3), Is.EqualTo((color.Red, color.Green, color.Blue, (byte)255)), name);
            images[name].Dispose();
        }

        Assert.That(output.GetRowCount(), Is.Null, "the view cannot know how many rows it will drop");
    }

    [Test]
    public void EachSkippedRowIsReportedWithItsRowPathAndReasonAndEachPassWithItsCount()
    {
        (string Name, string Path)[] rows = Rows();
        (IDataView output, Recorder recorder) = Transform(rows);

        ImageRows.Names(output, withImage: true);

        var expected = rows.Select((row, index) => (row, index))
            .Where(r => !GoodNames.Contains(r.row.Name))
            .Select(r => (Row: (long)r.index, r.row.Path, DamagedImageCorpus.Cases.Single(c => c.Description == r.row.Name).Reason))
            .ToList();
        Assert.That(recorder.Skipped.Select(s => (s.Row, s.Path, s.Reason)), Is.EqualTo(expected));

        List<LoggingEventArgs> warnings = [.. recorder.Log.Where(m => m.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Warning)];
        Assert.That(warnings, Has.Count.EqualTo(expected.Count), "one warning per skipped row");
        for (int i = 0; i < expected.Count; i++)
        {
            Assert.That(warnings[i].RawMessage, Does.Contain($"row {expected[i].Row} (counting from 0)")
                .And.Contain($"path '{expected[i].Path}'").And.Contain($"[{expected[i].Reason}]"));
        }

        Assert.That(recorder.Passes, Is.EqualTo(new[] { new ImageLoadingPassSummary(rows.Length, expected.Count, Completed: true) }));
        Assert.That(recorder.Log.Where(m => m.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info).Select(m => m.RawMessage),
            Has.One.Contains($"skipped {expected.Count} of {rows.Length} rows"));
    }

    [Test]
    public void EveryPassIsCountedButARowIsReportedOnlyTheFirstTimeAViewMeetsIt()
    {
        (string Name, string Path)[] rows = Rows();
        (IDataView output, Recorder recorder) = Transform(rows);
        int damaged = rows.Length - Good.Length;

        ImageRows.Names(output, withImage: true);
        ImageRows.Names(output, withImage: false);
        using (DataViewRowCursor stoppedEarly = output.GetRowCursor([output.Schema["Name"]]))
        {
            stoppedEarly.MoveNext();
        }

        Assert.That(recorder.Passes, Is.EqualTo(new[]
        {
            new ImageLoadingPassSummary(rows.Length, damaged, Completed: true),
            new ImageLoadingPassSummary(rows.Length, damaged, Completed: true),
            new ImageLoadingPassSummary(1, 0, Completed: false),
        }));
        Assert.That(recorder.Skipped, Has.Count.EqualTo(damaged));
    }

    [Trains]
    [Test]
    public void TrainingOnAViewWhoseRowsWereAllSkippedSaysThereAreNoRows()
    {
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("a", "missing.jpg"), ("b", "truncated.jpg"), ("a", "notes.png"));
        var pipeline = mlContext.Transforms.Conversion.MapValueToKey("Name")
            .Append(mlContext.Transforms.LoadImagesSafely(ImageRows.ImageColumn, _folder.Path, ImageRows.PathColumn, InvalidImagePolicy.Skip))
            .Append(mlContext.Transforms.ResizeImages(ImageRows.ImageColumn, 64, 64))
            .Append(mlContext.Transforms.ExtractPixels("Features", ImageRows.ImageColumn))
            .Append(mlContext.MulticlassClassification.Trainers.BnInception(new Trainers.BnInceptionMulticlassTrainer.Options
            {
                LabelColumnName = "Name",
                ImageSize = 64,
                Epochs = 1,
                BatchSize = 4,
            }));

        ArgumentException error = Assert.Throws<ArgumentException>(() => pipeline.Fit(input))!;
        Assert.That(error.Message, Does.StartWith("The training data has no rows").And.Contain("InvalidImagePolicy.Skip").And.Not.Contain("DropLastBatch"));
    }

    [Test]
    public void CursorsWithAndWithoutTheImageColumnSeeTheSameRows()
    {
        // The first cursor does not ask for the image: it must still drop exactly the rows an image-reading
        // cursor drops, and a later image-reading cursor must agree.
        (IDataView output, Recorder _) = Transform(Rows());

        Assert.That(ImageRows.Names(output, withImage: false), Is.EqualTo(GoodNames));
        Assert.That(ImageRows.Names(output, withImage: true), Is.EqualTo(GoodNames));
    }

    // Rows a and b of files a.png and b.png, and a row of a missing file between them, after a first pass has kept a and b.
    private static IDataView RowsAAndBAfterAPass(TemporaryDirectory folder)
    {
        File.WriteAllBytes(folder.File("a.png"), TestImages.SolidPng(4, 4, SKColors.Red));
        File.WriteAllBytes(folder.File("b.png"), TestImages.SolidPng(4, 4, SKColors.Blue));
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("a", "a.png"), ("missing", "gone.png"), ("b", "b.png"));
        IDataView output = mlContext.Transforms.LoadImagesSafely(ImageRows.ImageColumn, folder.Path, ImageRows.PathColumn, InvalidImagePolicy.Skip)
            .Fit(input).Transform(input);
        Assert.That(ImageRows.Names(output, withImage: true), Is.EqualTo(new[] { "a", "b" }));
        return output;
    }

    [Test]
    public void LaterCursorsWithoutTheImageColumnDoNotOpenTheFilesAgain()
    {
        using var folder = new TemporaryDirectory();
        IDataView output = RowsAAndBAfterAPass(folder);

        // With every file gone, only verdicts kept from the first pass can give the same rows.
        File.Delete(folder.File("a.png"));
        File.Delete(folder.File("b.png"));

        Assert.That(ImageRows.Names(output, withImage: false), Is.EqualTo(new[] { "a", "b" }));
    }

    [Test]
    public void ALaterCursorDecodesOnlyTheKeptRowsWhoseImageItReads()
    {
        // A resumed epoch passes over the rows it trained on, and a rank over the other ranks' rows: a
        // cursor that asks for the image but does not read a row's should not open its file.
        using var folder = new TemporaryDirectory();
        IDataView output = RowsAAndBAfterAPass(folder);
        File.Delete(folder.File("a.png"));

        using DataViewRowCursor cursor = output.GetRowCursor([output.Schema["Name"], output.Schema[ImageRows.ImageColumn]]);
        ValueGetter<MLImage> getImage = cursor.GetGetter<MLImage>(output.Schema[ImageRows.ImageColumn]);
        MLImage image = null!;
        Assert.That(cursor.MoveNext(), Is.True, "row a, passed over: its file is not opened");
        Assert.That(cursor.MoveNext(), Is.True, "row b");
        getImage(ref image);
        Assert.That(image.Width, Is.EqualTo(4));
        image.Dispose();

        // Read, a kept row whose file has gone since is named as changed, not skipped.
        using DataViewRowCursor again = output.GetRowCursor([output.Schema["Name"], output.Schema[ImageRows.ImageColumn]]);
        ValueGetter<MLImage> getAgain = again.GetGetter<MLImage>(output.Schema[ImageRows.ImageColumn]);
        Assert.That(again.MoveNext(), Is.True);
        InvalidImageException error = Assert.Throws<InvalidImageException>(() => getAgain(ref image))!;
        Assert.That(error.Message, Does.Contain("row 0 (counting from 0)").And.Contain("'a.png'").And.Contain("An earlier pass over this data view loaded it"));
    }

    [Test]
    public void AFileThatChangesBetweenPassesDoesNotChangeTheRows()
    {
        using var folder = new TemporaryDirectory();
        byte[] good = TestImages.SolidJpeg(16, 16, SKColors.Red);
        File.WriteAllBytes(folder.File("kept.jpg"), good);
        File.WriteAllBytes(folder.File("skipped.jpg"), good[..(good.Length / 2)]);
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("kept", "kept.jpg"), ("skipped", "skipped.jpg"));
        IDataView output = mlContext.Transforms.LoadImagesSafely(ImageRows.ImageColumn, folder.Path, ImageRows.PathColumn, InvalidImagePolicy.Skip)
            .Fit(input).Transform(input);
        Assert.That(ImageRows.Names(output, withImage: true), Is.EqualTo(new[] { "kept" }));

        // Repaired: still skipped, because an earlier pass of this view skipped it.
        File.WriteAllBytes(folder.File("skipped.jpg"), good);
        Assert.That(ImageRows.Names(output, withImage: true), Is.EqualTo(new[] { "kept" }));

        // Damaged after a pass kept it: dropping it now would change the rows, so reading it is an error.
        File.WriteAllBytes(folder.File("kept.jpg"), good[..(good.Length / 2)]);
        InvalidImageException error = Assert.Throws<InvalidImageException>(() => ImageRows.Names(output, withImage: true))!;
        Assert.That(error.Message, Does.Contain("row 0 (counting from 0)").And.Contain("'kept.jpg'").And.Contain("An earlier pass over this data view loaded it"));
    }

    [Test]
    public void AShuffledCursorDropsTheSameRowsFromTheSourcesShuffledOrder()
    {
        // Caching makes the in-memory input shufflable; the loader passes the Random through to it.
        var mlContext = new MLContext(seed: 1);
        (string Name, string Path)[] rows = Rows();
        IDataView cached = mlContext.Data.Cache(ImageRows.Load(mlContext, rows));
        (IDataView output, Recorder _) = Transform(rows, _ => cached);
        Assert.That(output.CanShuffle, Is.True);

        List<string> sourceOrder = ImageRows.Names(cached, withImage: false, shuffle: new Random(5));
        List<string> shuffled = ImageRows.Names(output, withImage: true, shuffle: new Random(5));

        Assert.That(sourceOrder, Is.Not.EqualTo(rows.Select(r => r.Name)), "the source really shuffles");
        Assert.That(shuffled, Is.EqualTo(sourceOrder.Where(GoodNames.Contains)));
        Assert.That(ImageRows.Names(output, withImage: false, shuffle: new Random(5)), Is.EqualTo(shuffled));
    }

    [Test]
    public void ACursorSetSplitsTheSameRowsAndReportsOnePass()
    {
        var mlContext = new MLContext(seed: 1);
        (string Name, string Path)[] rows = Rows();
        IDataView cached = mlContext.Data.Cache(ImageRows.Load(mlContext, rows));
        (IDataView output, Recorder recorder) = Transform(rows, _ => cached);

        DataViewRowCursor[] cursors = output.GetRowCursorSet([output.Schema["Name"], output.Schema[ImageRows.ImageColumn]], 3);
        Assert.That(cursors, Has.Length.GreaterThan(1), "the cached input splits, so this tests a real set");
        var names = new List<string>();
        Parallel.ForEach(cursors, cursor =>
        {
            List<string> part = ImageRows.ReadNames(cursor, withImage: true);
            lock (names)
            {
                names.AddRange(part);
            }

            cursor.Dispose();
        });

        Assert.That(names, Is.EquivalentTo(GoodNames));
        Assert.That(recorder.Passes, Is.EqualTo(new[] { new ImageLoadingPassSummary(rows.Length, rows.Length - Good.Length, Completed: true) }));
        Assert.That(recorder.Skipped, Has.Count.EqualTo(rows.Length - Good.Length));
    }
}
