using MLNet.BNInception.Images;
using SkiaSharp;

namespace MLNet.BNInception.Tests.Images;

/// <summary>
/// InvalidImagePolicy.Fail: every damaged file of the corpus stops the read with an exception that names the
/// row, the path and the reason, on the row where it is, after the good rows before it loaded.
/// </summary>
public sealed class InvalidImageFailTests
{
    private TemporaryDirectory _folder = null!;

    [OneTimeSetUp]
    public void WriteCorpus()
    {
        _folder = new TemporaryDirectory();
        DamagedImageCorpus.WriteTo(_folder.Path);
        File.WriteAllBytes(_folder.File("good.png"), TestImages.SolidPng(8, 8, SKColors.Red));
    }

    [OneTimeTearDown]
    public void DeleteCorpus() => _folder.Dispose();

    [TestCaseSource(typeof(DamagedImageCorpus), nameof(DamagedImageCorpus.Cases))]
    public void ReadingTheImageNamesRowPathAndReason(DamagedImage damaged)
    {
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("first", "good.png"), ("second", "good.png"), ("damaged", damaged.RowPath), ("last", "good.png"));
        IDataView output = ImageRows.Loader(mlContext, _folder.Path, InvalidImagePolicy.Fail, input).Transform(input);

        using DataViewRowCursor cursor = output.GetRowCursor(output.Schema);
        ValueGetter<MLImage> getImage = cursor.GetGetter<MLImage>(output.Schema[ImageRows.ImageColumn]);
        MLImage image = null!;
        for (int row = 0; row < 2; row++)
        {
            Assert.That(cursor.MoveNext(), Is.True);
            getImage(ref image);
            Assert.That(TestImages.Pixel(image, 4, 4), Is.EqualTo(((byte)255, (byte)0, (byte)0, (byte)255)), $"good row {row}");
        }

        Assert.That(cursor.MoveNext(), Is.True, "Fail decides when the image is read, not when the cursor moves");
        InvalidImageException error = Assert.Throws<InvalidImageException>(() => getImage(ref image))!;
        image.Dispose();

        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("row 2 (counting from 0)"));
            Assert.That(error.Message, Does.Contain($"path '{damaged.RowPath}'"));
            Assert.That(error.Message, Does.Contain($"column '{ImageRows.PathColumn}'"));
            Assert.That(error.Message, Does.Contain(damaged.Phrase));
            Assert.That(error.Message, Does.Contain($"[{damaged.Reason}]"));
            Assert.That(error.Row, Is.EqualTo(2));
            Assert.That(error.Path, Is.EqualTo(damaged.RowPath));
            Assert.That(error.ColumnName, Is.EqualTo(ImageRows.PathColumn));
            Assert.That(error.Reason, Is.EqualTo(damaged.Reason));
        });
        if (damaged.RowPath.Trim().Length > 0)
        {
            Assert.That(error.Message, Does.Contain(Path.Combine(_folder.Path, damaged.RowPath)), "the message gives the file as resolved, too");
        }
    }

    [Test]
    public void ThroughResizeAndExtractPixelsTheErrorStillNamesRowAndPath()
    {
        // ML.NET's image transforms may read the image on worker threads and wrap what they throw; the
        // loader's exception must survive that as the inner exception.
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("good", "good.png"), ("cut", "truncated.jpg"));
        IDataView pixels = mlContext.Transforms.LoadImagesSafely(ImageRows.ImageColumn, _folder.Path, ImageRows.PathColumn)
            .Append(mlContext.Transforms.ResizeImages(ImageRows.ImageColumn, 4, 4))
            .Append(mlContext.Transforms.ExtractPixels("Pixels", ImageRows.ImageColumn))
            .Fit(input).Transform(input);

        Exception thrown = Assert.Catch(() => pixels.Preview(maxRows: 10))!;
        InvalidImageException? error = Chain(thrown).OfType<InvalidImageException>().FirstOrDefault();
        Assert.That(error, Is.Not.Null, $"no InvalidImageException in {thrown}");
        Assert.That(error!.Message, Does.Contain("row 1 (counting from 0)").And.Contain("'truncated.jpg'").And.Contain("[Truncated]"));
    }

    [Trains]
    [TestCase(false, TestName = "TrainingStopsAtADamagedImageWithAnErrorNamingRowAndPath")]
    [TestCase(true, TestName = "TrainingOnACachedViewStopsAtADamagedImageWithAnErrorNamingRowAndPath")]
    public void TrainingStopsAtADamagedImageWithAnErrorNamingRowAndPath(bool cache)
    {
        // The trainer reads through ML.NET's shuffle pool or cache, whose threads wrap what a cursor throws
        // in their own generic exceptions: the user must still catch the loader's exception, at the top.
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext,
            ("a", "good.png"), ("b", "good.png"), ("a", "good.png"), ("b", "good.png"), ("a", "good.png"), ("b", "truncated.jpg"));
        IEstimator<ITransformer> pipeline = mlContext.Transforms.Conversion.MapValueToKey("Name")
            .Append(mlContext.Transforms.LoadImagesSafely(ImageRows.ImageColumn, _folder.Path, ImageRows.PathColumn))
            .Append(mlContext.Transforms.ResizeImages(ImageRows.ImageColumn, 64, 64))
            .Append(mlContext.Transforms.ExtractPixels("Features", ImageRows.ImageColumn));
        if (cache)
        {
            pipeline = pipeline.AppendCacheCheckpoint(mlContext);
        }

        var trainer = mlContext.MulticlassClassification.Trainers.BnInception(new Trainers.BnInceptionMulticlassTrainer.Options
        {
            LabelColumnName = "Name",
            ImageSize = 64,
            Epochs = 1,
            BatchSize = 4,
        });

        InvalidImageException error = Assert.Throws<InvalidImageException>(() => pipeline.Append(trainer).Fit(input))!;
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("row 5 (counting from 0)").And.Contain("path 'truncated.jpg'").And.Contain("[Truncated]"));
            Assert.That(error.Message, Does.StartWith("In the training data, LoadImagesSafely cannot load"), "which data: a validation view numbers its rows alike");
            Assert.That((error.Row, error.Path, error.Reason), Is.EqualTo((5L, "truncated.jpg", InvalidImageReason.Truncated)));
            Assert.That(error.InnerException, Is.Not.Null, "what ML.NET threw is kept as the inner exception");
            Assert.That(Chain(error).Skip(1).OfType<InvalidImageException>().Single().Row, Is.EqualTo(5), "and the loader's own exception within it");
        });
    }

    [Test]
    public void WithoutTheImageColumnNothingIsDecodedAndEveryRowIsThere()
    {
        var mlContext = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(mlContext, ("good", "good.png"), ("missing", "missing.jpg"), ("text", "notes.png"));
        IDataView output = ImageRows.Loader(mlContext, _folder.Path, InvalidImagePolicy.Fail, input).Transform(input);

        Assert.That(output.GetRowCount(), Is.EqualTo(3), "Fail keeps every row, so the input's count holds");
        Assert.That(ImageRows.Names(output, withImage: false), Is.EqualTo(new[] { "good", "missing", "text" }));
    }

    private static IEnumerable<Exception> Chain(Exception error)
    {
        for (Exception? e = error; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }

    [Test]
    public void ShuffledTheRowIsNumberedInTheSourcesOrder()
    {
        // The trainer reads a view that can shuffle in shuffled order.
        var mlContext = new MLContext(seed: 1);
        const int Damaged = 13;
        IDataView input = mlContext.Data.Cache(ImageRows.Load(mlContext,
            [.. Enumerable.Range(0, 20).Select(i => ($"row{i}", i == Damaged ? "missing.png" : "good.png"))]));
        IDataView output = ImageRows.Loader(mlContext, _folder.Path, InvalidImagePolicy.Fail, input).Transform(input);
        var cursorsSeen = new List<DataViewRowCursor[]>();
        foreach (int seed in new[] { 1, 2, 3 })
        {
            cursorsSeen.Add([output.GetRowCursor(output.Schema, new Random(seed))]);
        }

        foreach (DataViewRowCursor[] cursors in cursorsSeen)
        {
            InvalidImageException? error = null;
            foreach (DataViewRowCursor cursor in cursors)
            {
                using (cursor)
                {
                    ValueGetter<MLImage> getImage = cursor.GetGetter<MLImage>(output.Schema[ImageRows.ImageColumn]);
                    MLImage image = null!;
                    while (error is null && cursor.MoveNext())
                    {
                        try
                        {
                            getImage(ref image);
                        }
                        catch (InvalidImageException thrown)
                        {
                            error = thrown;
                        }
                    }

                    image?.Dispose();
                }
            }

            Assert.That(error, Is.Not.Null);
            Assert.That(error!.Row, Is.EqualTo(Damaged));
            Assert.That(error.Message, Does.Contain($"row {Damaged} (counting from 0), column '{ImageRows.PathColumn}', path 'missing.png'"));
        }
    }
}
