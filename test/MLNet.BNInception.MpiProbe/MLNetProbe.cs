using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNet.BNInception;
using MLNet.BNInception.Engine.Distributed;
using MLNet.BNInception.Engine.Interop;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;
using static TorchSharp.torch;

/// <summary>
/// The probe's <c>mlnet-fit DATA FOLDER</c> mode (test/MLNet.BNInception.Tests/DistributedFitTests.cs
/// starts it): an ordinary ML.NET program, run unchanged on every rank. It fits
/// <c>MapValueToKey</c> and BN-Inception on DATA's images, read through
/// <c>mlContext.Data.LoadFromEnumerable</c>, prints the hash of the fitted network and its scores of
/// the first <see cref="ScoredRows"/> rows, and on rank 0 alone saves the model with
/// <c>mlContext.Model.Save</c> (FOLDER/model.zip) and its weights (FOLDER/weights.pt).
/// DATA is a state dict with <c>images</c> (N × 1 × 64 × 64 float32) and <c>labels</c> (N int64 in 0..2).
/// </summary>
internal static class MLNetProbe
{
    /// <summary>The rows whose scores each rank prints.</summary>
    public const int ScoredRows = 4;

    /// <summary>The class names, in the key order MapValueToKey is given.</summary>
    private static readonly string[] ClassNames = ["circle", "square", "stripe"];

    /// <summary>One image as ExtractPixels would give it, and its class name.</summary>
    public sealed class ImageRow
    {
        [VectorType(1, 64, 64)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";
    }

    /// <summary>
    /// The trainer's settings for <paramref name="batchSize"/> images per rank: one epoch of plain
    /// images, without BN, so that one process on the global batches takes the same steps within
    /// float rounding (the test checks that, which holds only when every rank read the same order).
    /// </summary>
    public static BnInceptionMulticlassTrainer.Options Options(int batchSize) => new()
    {
        ImageSize = 64,
        Training = TrainerOptions.PaperBnX30 with
        {
            Epochs = 1,
            BatchSize = batchSize,
            LearningRate = 0.1,
            Seed = 5,
            Augmentation = AugmentationOptions.None,
        },
        Architecture = new BnInceptionOptions { BatchNorm = false },
    };

    /// <summary>
    /// The <c>mlnet-fit-fails-on-rank-1</c> mode: as <see cref="Fit"/>, but rank 1's first row has a label
    /// none of the classes (no key, refused by the trainer's counting pass, before training), and the
    /// program catches what Fit throws, prints it and returns 0, as a program that goes on would.
    /// </summary>
    public static int FitFailingOnRankOne(MpiWorld world, string data)
    {
        ImageRow[] rows = Rows(data);
        if (world.Rank == 1)
        {
            rows[0].Label = "hexagon";
        }

        var ml = new MLContext(seed: 1);
        IDataView keys = ml.Data.LoadFromEnumerable(ClassNames.Select(name => new { Label = name }));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", keyData: keys)
            .Append(ml.MulticlassClassification.Trainers.BnInception(Options(rows.Length / 2 / world.Size)));
        try
        {
            pipeline.Fit(ml.Data.LoadFromEnumerable(rows)).LastTransformer.Dispose();
            Console.WriteLine($"rank {world.Rank}: fitted");
        }
        catch (InvalidDataException e)
        {
            Console.WriteLine($"rank {world.Rank}: Fit failed: {e.Message}");
        }

        return 0;
    }

    public static int Fit(MpiWorld world, string data, string folder)
    {
        ImageRow[] rows = Rows(data);
        var ml = new MLContext(seed: 1);
        IDataView view = ml.Data.LoadFromEnumerable(rows);
        IDataView keys = ml.Data.LoadFromEnumerable(ClassNames.Select(name => new { Label = name }));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label", keyData: keys)
            .Append(ml.MulticlassClassification.Trainers.BnInception(Options(rows.Length / 2 / world.Size)));

        // Every rank fits: under mpirun the trainer trains data-parallel by itself (docs/distributed.md).
        TransformerChain<BnInceptionPredictionTransformer> model = pipeline.Fit(view);
        using BnInceptionPredictionTransformer network = model.LastTransformer;
        float[][] scores = model.Transform(ml.Data.LoadFromEnumerable(rows.Take(ScoredRows))).GetColumn<float[]>("Score").ToArray();
        Console.WriteLine($"rank {world.Rank}: fitted a world of {world.Size}, hash {DataParallel.Hash(network.Model):X16}");
        Console.WriteLine($"rank {world.Rank}: scores {string.Join("; ", scores.Select(row => string.Join(" ", row.Select(value => value.ToString("R", CultureInfo.InvariantCulture)))))}");

        // Every rank holds the same model; one writes it, as docs/distributed.md shows.
        if (MpiWorld.Join().Rank == 0)
        {
            ml.Model.Save(model, view.Schema, Path.Combine(folder, "model.zip"));
            network.SaveWeights(Path.Combine(folder, "weights.pt"));
            Console.WriteLine("rank 0: saved model.zip and weights.pt");
        }

        return 0;
    }

    /// <summary>The rows of DATA that <c>mlnet-validate</c> trains on; it validates on the others.</summary>
    public const int TrainRows = 16;

    /// <summary>What a validation row's pixels are made from: what a path is before its image is decoded.</summary>
    public class Undecoded
    {
        [VectorType(1, 64, 64)]
        public float[] Pixels { get; set; } = [];
    }

    /// <summary>A validation row before its pixels are made.</summary>
    public sealed class UndecodedRow : Undecoded
    {
        public string Label { get; set; } = "";
    }

    /// <summary>The pixels an <see cref="Undecoded"/> row gives when it is "decoded".</summary>
    public sealed class DecodedRow
    {
        [VectorType(1, 64, 64)]
        public float[] Features { get; set; } = [];
    }

    /// <summary>
    /// The <c>mlnet-validate DATA FOLDER</c> mode: fits one epoch on DATA's first <see cref="TrainRows"/>
    /// rows, validating on the others, which a CustomMapping "decodes" (copies), counting the rows it
    /// decodes on this rank: a stand-in for image decoding. Each rank prints its count; rank 0 prints
    /// the epoch's validation loss and accuracy, and saves the fitted weights (FOLDER/weights.pt).
    /// </summary>
    public static int Validate(MpiWorld world, string data, string folder)
    {
        ImageRow[] rows = Rows(data);
        long decoded = 0;
        var ml = new MLContext(seed: 1);
        IDataView keys = ml.Data.LoadFromEnumerable(ClassNames.Select(name => new { Label = name }));
        ITransformer keying = ml.Transforms.Conversion.MapValueToKey("Label", keyData: keys).Fit(ml.Data.LoadFromEnumerable(rows));
        IDataView train = keying.Transform(ml.Data.LoadFromEnumerable(rows.Take(TrainRows)));
        IDataView undecoded = keying.Transform(ml.Data.LoadFromEnumerable(rows.Skip(TrainRows).Select(row => new UndecodedRow { Pixels = row.Features, Label = row.Label })));
        IDataView validation = ml.Transforms.CustomMapping<Undecoded, DecodedRow>((row, image) =>
        {
            Interlocked.Increment(ref decoded);
            image.Features = row.Pixels;
        }, contractName: null).Fit(undecoded).Transform(undecoded);

        BnInceptionMulticlassTrainer.Options options = Options(TrainRows / 2 / world.Size);
        options.OnEpoch = metrics => Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"rank {world.Rank}: epoch {metrics.Epoch} validation loss {metrics.ValidationLoss:R} accuracy {metrics.ValidationAccuracy:R}"));
        using BnInceptionPredictionTransformer network = ml.MulticlassClassification.Trainers.BnInception(options).Fit(train, validation);
        Console.WriteLine($"rank {world.Rank}: decoded {Interlocked.Read(ref decoded)} validation rows of {rows.Length - TrainRows}");
        if (world.Rank == 0)
        {
            network.SaveWeights(Path.Combine(folder, "weights.pt"));
            Console.WriteLine("rank 0: saved weights.pt");
        }

        return 0;
    }

    private static ImageRow[] Rows(string path)
    {
        IReadOnlyList<KeyValuePair<string, Tensor>> entries = PyTorchStateDict.Load(path);
        try
        {
            Tensor images = entries.Single(pair => pair.Key == "images").Value;
            long[] labels = entries.Single(pair => pair.Key == "labels").Value.data<long>().ToArray();
            float[] pixels = images.contiguous().data<float>().ToArray();
            int size = 64 * 64;
            return [.. labels.Select((label, i) => new ImageRow { Features = pixels[(i * size)..((i + 1) * size)], Label = ClassNames[label] })];
        }
        finally
        {
            foreach ((string _, Tensor value) in entries)
            {
                value.Dispose();
            }
        }
    }
}
