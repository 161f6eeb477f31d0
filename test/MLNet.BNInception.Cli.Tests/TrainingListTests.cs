using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.BNInception.Cli.CommandLine;
using MLNet.BNInception.Cli.Pipelines;
using MLNet.BNInception.DataViews;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// <c>train</c> holds its list in memory (paths and labels) so that each epoch reads every row in a fresh
/// order, and a resumed epoch passes over the rows it trained on without decoding them. Read through ML.NET's
/// shuffle pool, a list sorted by class, as a listing of one folder per class is, gave batches of the pool's
/// few classes for most of an epoch, and the pool decoded every row it took in. The images here are a
/// stand-in for the image transforms that, as they do, keeps the list's ability to be read in any order.
/// </summary>
public class TrainingListTests
{
    private const int Classes = 3, RowsPerClass = 400, Rows = Classes * RowsPerClass, BatchSize = 32;
    private static readonly ImageFeatureLayout Layout = new(1, 8);

    private static TrainingSettings Settings(string path, int? pool = null) => new()
    {
        TrainPath = path, PathColumn = "ImagePath", LabelColumn = "Label", OutputPath = "model.zip", Threads = 1,
        Training = TrainerOptions.PaperBnX5, ShufflePoolSize = pool,
    };

    private static readonly TextLoader.Column[] Columns =
        [new("ImagePath", DataKind.String, 0), new("Label", DataKind.String, 1)];

    // Sorted by class, as a listing of one folder per class is: row r is image r.png of class r / RowsPerClass.
    private static string SortedList(TemporaryDirectory work)
    {
        string path = work.File("sorted.csv");
        File.WriteAllLines(path, ["ImagePath,Label", .. Enumerable.Range(0, Rows).Select(row =>
            string.Create(CultureInfo.InvariantCulture, $"{row}.png,class{row / RowsPerClass}"))]);
        return path;
    }

    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
    }

    private sealed class PixelsRow
    {
        [VectorType(8 * 8)]
        public float[] Features { get; set; } = [];
    }

    // A pool smaller than the list: what the trainer falls back to for a view that cannot be read in any order.
    // Each image made is counted in `decoded`, as the image loader would open a file.
    private static DataViewBatchSource Images(MLContext ml, IDataView list, int pool, StrongBox<int>? decoded = null)
    {
        IDataView images = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.CustomMapping<PathRow, PixelsRow>((row, pixels) =>
            {
                if (decoded is not null)
                {
                    Interlocked.Increment(ref decoded.Value);
                }

                int image = int.Parse(row.ImagePath.AsSpan(0, row.ImagePath.IndexOf('.')), CultureInfo.InvariantCulture);
                pixels.Features = Enumerable.Repeat((float)image, Layout.Size).ToArray();
            }, contractName: null))
            .Fit(list).Transform(list);
        Assert.That(images.CanShuffle, Is.EqualTo(list.CanShuffle), "the stand-in keeps the list's ability to be read in any order, as the image transforms do");
        return new DataViewBatchSource(images, "Label", "Features", Layout, Classes, ml, pool, split: null, "training", log: null, CancellationToken.None);
    }

    private static List<(long Row, long Label, float Pixel)> ReadPass(DataViewBatchSource source, ulong seed, int skipBatches)
    {
        var rows = new List<(long, long, float)>();
        foreach (LabelledBatch batch in source.ReadBatches(BatchSize, seed, skipBatches, dropLastBatch: false, CancellationToken.None))
        {
            using (batch)
            {
                long[] labels = batch.Labels.data<long>().ToArray();
                float[] pixels = batch.Images.data<float>().ToArray();
                rows.AddRange(batch.Rows.Select((row, i) => (row, labels[i], pixels[i * Layout.Size])));
            }
        }

        return rows;
    }

    [Test]
    public void EveryEpochReadsEveryRowOnceInAFreshOrderOfTheWholeList()
    {
        using var work = new TemporaryDirectory();
        var ml = new MLContext(seed: 1);
        IDataView list = TrainingList.OpenForTraining(ml, Settings(SortedList(work)), Columns, ',', Rows, available: null);
        DataViewBatchSource source = Images(ml, list, pool: 500);

        List<(long Row, long Label, float Pixel)> first = ReadPass(source, seed: 11, skipBatches: 0);
        List<(long Row, long Label, float Pixel)> second = ReadPass(source, seed: 12, skipBatches: 0);

        foreach (List<(long Row, long Label, float Pixel)> pass in new[] { first, second })
        {
            Assert.That(pass.Select(read => read.Row).Order(), Is.EqualTo(Enumerable.Range(0, Rows).Select(row => (long)row)), "each row once");
            // A row keeps its number in the file, its label and its image, wherever the order puts it.
            Assert.That(pass.All(read => read.Label == read.Row / RowsPerClass && read.Pixel == read.Row), Is.True);
            // The first batch draws from the whole list: all three classes, where a pool of 500 rows holds two.
            Assert.That(pass.Take(BatchSize).Select(read => read.Label).Distinct().Count(), Is.EqualTo(Classes));
        }

        Assert.That(second.Select(read => read.Row), Is.Not.EqualTo(first.Select(read => read.Row)), "each epoch its own order");
        Assert.That(ReadPass(source, seed: 11, skipBatches: 0).Select(read => read.Row), Is.EqualTo(first.Select(read => read.Row)), "an epoch's seed gives its order again");
        Assert.That(list.CanShuffle, Is.True);
    }

    [Test]
    public void AResumedEpochDecodesOnlyTheRowsItHasStillToTrainOn()
    {
        using var work = new TemporaryDirectory();
        var ml = new MLContext(seed: 1);
        IDataView list = TrainingList.OpenForTraining(ml, Settings(SortedList(work)), Columns, ',', Rows, available: null);
        var decoded = new StrongBox<int>();
        DataViewBatchSource source = Images(ml, list, pool: 500, decoded);
        List<(long Row, long Label, float Pixel)> whole = ReadPass(source, seed: 5, skipBatches: 0);
        int before = decoded.Value;

        List<(long Row, long Label, float Pixel)> resumed = ReadPass(source, seed: 5, skipBatches: 30);

        Assert.That(resumed, Is.EqualTo(whole.Skip(30 * BatchSize)), "the rest of the same order");
        Assert.That(decoded.Value - before, Is.EqualTo(Rows - (30 * BatchSize)), "the 960 rows of the 30 batches trained on are not decoded again");
    }

    [Test]
    public void ShufflePoolReadsTheFileInItsOrderAndCacheLeavesTheListAsItIs()
    {
        using var work = new TemporaryDirectory();
        string path = SortedList(work);
        var ml = new MLContext(seed: 1);

        Assert.That(TrainingList.OpenForTraining(ml, Settings(path, pool: 500), Columns, ',', Rows, available: null).CanShuffle, Is.False);
        Assert.That(TrainingList.OpenForTraining(ml, Settings(path) with { Cache = true }, Columns, ',', Rows, available: null).CanShuffle, Is.False,
            "--cache caches the decoded images, after the image transforms");
    }

    [Test]
    public void AListLargerThanTheMemoryAvailableIsRefusedWithExitCode2NamingTheWayAround()
    {
        using var work = new TemporaryDirectory();
        string path = SortedList(work);
        long needed = TrainingList.MemoryEstimate(new FileInfo(path).Length, Rows);

        var error = Assert.Throws<CommandLineException>(() =>
            TrainingList.OpenForTraining(new MLContext(1), Settings(path), Columns, ',', Rows, available: needed - 1))!;

        Assert.That(error.ExitCode, Is.EqualTo(ExitCodes.BadArguments));
        Assert.That(error.Message, Does.Contain("is held in memory (its 1200 paths and labels, not the images) so that each epoch reads its rows in a fresh order")
            .And.Contain("Pass --shuffle-pool N to read it in the file's order"));
        Assert.DoesNotThrow(() => TrainingList.OpenForTraining(new MLContext(1), Settings(path), Columns, ',', Rows, available: needed));
        Assert.DoesNotThrow(() => TrainingList.OpenForTraining(new MLContext(1), Settings(path, pool: 500), Columns, ',', Rows, available: 1),
            "with --shuffle-pool the list is not held");
    }

    [Test]
    public void TheEstimateIsFourBytesAFileByteAnd128ARow()
    {
        // 1.28M rows of ImageNet-style paths (47 bytes a line): 0.40 GB was measured.
        Assert.That(TrainingList.MemoryEstimate(60_064_574, 1_281_000) / 1e9, Is.EqualTo(0.40).Within(0.01));
    }
}
