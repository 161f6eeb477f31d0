using MLNet.BNInception.Images;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Tests.Images;
using SkiaSharp;

namespace MLNet.BNInception.Tests;

/// <summary>
/// What ML.NET's row and cursor contracts say of every data view, row and mapper, held against this
/// package's: the safe image loader's cursor and the scorer's cursor and row mapper. Each case failed
/// before the code met the contract.
/// </summary>
public sealed class CursorContractTests
{
    [TestCase(InvalidImagePolicy.Skip)]
    [TestCase(InvalidImagePolicy.Fail)]
    public void TheImageLoadersCursorHasNoCurrentRowPastTheEnd(InvalidImagePolicy policy)
    {
        // DataViewRowCursor.Position: -1 before the first MoveNext and after the one that returns false.
        // ML.NET's transforms above pass it on (ResizeImages, here).
        using var folder = new TemporaryDirectory();
        File.WriteAllBytes(folder.File("a.png"), TestImages.SolidPng(8, 8, new SKColor(250, 0, 0)));
        File.WriteAllBytes(folder.File("b.png"), TestImages.SolidPng(8, 8, new SKColor(0, 250, 0)));
        File.WriteAllBytes(folder.File("bad.png"), [1, 2, 3]);
        var ml = new MLContext(seed: 1);
        IDataView input = ImageRows.Load(ml, ("a", "a.png"), ("b", "b.png"), ("bad", "bad.png"));
        IDataView loaded = ml.Transforms.LoadImagesSafely(new SafeImageLoadingOptions
        {
            OutputColumnName = ImageRows.ImageColumn,
            InputColumnName = ImageRows.PathColumn,
            ImageFolder = folder.Path,
            OnInvalidImage = policy,
        }).Fit(input).Transform(input);
        IDataView resized = ml.Transforms.ResizeImages("Small", 4, 4, ImageRows.ImageColumn).Fit(loaded).Transform(loaded);

        foreach (IDataView view in new[] { loaded, resized })
        {
            // The path column only: Fail's cursor does not decode, so it reaches the end too.
            using DataViewRowCursor cursor = view.GetRowCursor([view.Schema[ImageRows.PathColumn]]);
            Assert.That(cursor.Position, Is.EqualTo(-1), "before the first row");
            long rows = 0;
            while (cursor.MoveNext())
            {
                Assert.That(cursor.Position, Is.EqualTo(rows++));
            }

            Assert.That(rows, Is.EqualTo(policy == InvalidImagePolicy.Skip ? 2 : 3));
            Assert.That(cursor.Position, Is.EqualTo(-1), "past the end");
            Assert.That(cursor.MoveNext(), Is.False);
            Assert.That(cursor.Position, Is.EqualTo(-1), "still past the end");
        }
    }

    [Test]
    [Trains]
    public void TheScoringCursorRefusesAGetterOfTheWrongTypeAsMLNetsCursorsDo()
    {
        IDataView scored = TrainedModel.Shared.Model.Transform(Input(3));
        DataViewSchema.Column label = scored.Schema["Label"];
        // With Score active the cursor scores and buffers the input's columns itself; without, it passes
        // the input's cursor on. Both refuse a float getter of the key column the same way.
        using DataViewRowCursor scoring = scored.GetRowCursor(scored.Schema);
        using DataViewRowCursor passing = scored.GetRowCursor([label]);
        Assert.That(() => passing.GetGetter<float>(label), Throws.InvalidOperationException);
        Assert.That(() => scoring.GetGetter<float>(label), Throws.InvalidOperationException.With.Message.Contains("Label").And.Message.Contains("Single"));
        Assert.That(scoring.GetGetter<uint>(label), Is.Not.Null, "the right type still reads");

        // A generic getter type is named as the caller wrote it, not by its metadata name (VBuffer`1).
        DataViewSchema.Column score = scored.Schema["Score"];
        Assert.That(() => scoring.GetGetter<VBuffer<double>>(score),
            Throws.InvalidOperationException.With.Message.Contains("Score").And.Message.Contains("cannot be read as VBuffer<Double>."));
        Assert.That(() => scoring.GetGetter<VBuffer<float>>(label),
            Throws.InvalidOperationException.With.Message.Contains("a getter of VBuffer<Single> cannot read it"));

        scoring.Dispose();
        Assert.That(scoring.MoveNext(), Is.False);
        Assert.That(scoring.Position, Is.EqualTo(-1), "a disposed cursor has no current row");
    }

    [Test]
    [Trains]
    public void TheRowMappersRowDisposesTheRowItMaps()
    {
        // IRowToRowMapper.GetRow: "the returned row will dispose input when it is disposed"; in a chain,
        // the rows of the steps before are each the next one's input.
        IDataView input = Input(2);
        IRowToRowMapper mapper = TrainedModel.Shared.Model.GetRowToRowMapper(input.Schema);
        var recording = new DisposalRecordingRow(input.GetRowCursor(input.Schema));
        DataViewRow output = mapper.GetRow(recording, mapper.OutputSchema);
        Assert.That(recording.Disposed, Is.False);
        output.Dispose();
        Assert.That(recording.Disposed, Is.True);
    }

    [Test]
    [Trains]
    public void TheRowMapperRefusesARowOfAnotherSchema()
    {
        // With one column more before them, Score's column number is the extra column's: before the check,
        // the row's Score was the 4,096 pixels of the copy, without an error.
        MLContext ml = TrainedModel.Shared.Ml;
        IDataView input = Input(2);
        IRowToRowMapper mapper = TrainedModel.Shared.Model.GetRowToRowMapper(input.Schema);
        IDataView other = ml.Transforms.CopyColumns("Extra", "Features").Fit(input).Transform(input);
        using DataViewRowCursor cursor = other.GetRowCursor(other.Schema);
        Assert.That(() => mapper.GetRow(cursor, mapper.OutputSchema),
            Throws.ArgumentException.With.Message.Contains("Extra").And.Message.Contains("GetRowToRowMapper"));
    }

    private static IDataView Input(int rows) => PipelineData.KeyedView(TrainedModel.Shared.Ml, PipelineData.FashionRows("t10k", rows));

    private sealed class DisposalRecordingRow(DataViewRow inner) : DataViewRow
    {
        public bool Disposed { get; private set; }

        public override long Position => inner.Position;

        public override long Batch => inner.Batch;

        public override DataViewSchema Schema => inner.Schema;

        public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => inner.GetGetter<TValue>(column);

        public override bool IsColumnActive(DataViewSchema.Column column) => inner.IsColumnActive(column);

        protected override void Dispose(bool disposing)
        {
            if (disposing && !Disposed)
            {
                Disposed = true;
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
