using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using MLNet.BNInception.Engine;
using MLNet.BNInception.Engine.Interop;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;
using MLNet.BNInception.ModelFiles;
using MLNet.BNInception.Scoring;
using MLNet.BNInception.Trainers;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Tests;

/// <summary>
/// The ML.NET trainer under mpirun (docs/distributed.md, "An ML.NET program under mpirun"): the same
/// ML.NET program on two ranks (the probe program's mlnet-fit mode,
/// test/MLNet.BNInception.MpiProbe/MLNetProbe.cs) fits one model, which is the model one process
/// fits on the global batches, and rank 0 saves it with <c>mlContext.Model.Save</c>.
/// </summary>
[Category("Mpi")]
public class DistributedFitTests : SingleThreadedFixture
{
    private const int Rows = 16;

    // The rows the probe's mlnet-validate mode trains on before it validates on the rest (MLNetProbe.TrainRows).
    private const int ProbeTrainRows = 16;

    // The probe's classes, in its key order.
    private static readonly string[] ClassNames = ["circle", "square", "stripe"];

    private static string Probe => typeof(DistributedFitTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(attribute => attribute.Key == "MpiProbe").Value!;

    private sealed class ImageRow
    {
        [VectorType(1, 64, 64)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = "";
    }

    [Test]
    public void ARankWhoseFitFailsAloneEndsTheJobEvenWhenItsProgramGoesOn()
    {
        using var folder = new TemporaryDirectory();
        WriteData(folder.File("data.pt"));

        // Rank 1's Fit refuses a row before training while rank 0 waits for it in training's first collective
        // operation; rank 1's program catches that and ends with 0. Its disposal of the world ends the job
        // (MPI_Abort) where MPI_Finalize would have waited for rank 0 for ever.
        ExternalProcess.Result job = Mpirun.RunTwoRanks("dotnet", [Probe, "mlnet-fit-fails-on-rank-1", folder.File("data.pt")], TimeSpan.FromMinutes(3),
            environment: new Dictionary<string, string?> { [TorchRuntime.ThreadsVariable] = "1" });

        Assert.That(job.Output, Does.Contain("rank 1: Fit failed: ").And.Not.Contain("fitted"), job.Error);
        Assert.That(job.ExitCode, Is.EqualTo(1), job.Output + job.Error);
    }

    [Trains]
    [Test]
    public void TwoRanksFitWhatOneProcessFitsOnTheGlobalBatchesAndRankZeroSavesAModelThatLoads()
    {
        using var folder = new TemporaryDirectory();
        ImageRow[] rows = WriteData(folder.File("data.pt"));

        ExternalProcess.Result job = Mpirun.RunTwoRanks("dotnet", [Probe, "mlnet-fit", folder.File("data.pt"), folder.Path], TimeSpan.FromMinutes(3),
            environment: new Dictionary<string, string?> { [TorchRuntime.ThreadsVariable] = "1" }).AssertSucceeded();

        // Both ranks hold the same network, bit for bit, and score alike.
        string[] hashes = [.. Enumerable.Range(0, 2).Select(rank => Captured(job, $"rank {rank}: fitted a world of 2, hash ([0-9A-F]{{16}})"))];
        Assert.That(hashes[1], Is.EqualTo(hashes[0]), "the ranks' networks");
        string[] scoreLines = [.. Enumerable.Range(0, 2).Select(rank => Captured(job, $"rank {rank}: scores (.+)"))];
        Assert.That(scoreLines[1], Is.EqualTo(scoreLines[0]), "the ranks' scores of the same rows");
        float[][] rankScores = [.. scoreLines[0].Trim().Split("; ").Select(row => row.Split(' ').Select(value => float.Parse(value, CultureInfo.InvariantCulture)).ToArray())];
        Assert.That(rankScores, Has.Length.EqualTo(4));
        Assert.That(rankScores.Select(row => row.Length), Is.All.EqualTo(ClassNames.Length), "a score per class");
        Assert.That(job.Output, Does.Contain("rank 0: saved model.zip and weights.pt").And.Not.Contain("rank 1: saved"), "rank 0 alone saves");

        // One process, the same program at the global batch size (8 = 4 per rank x 2): two steps on the
        // same two global batches, if every rank read the rows in the order this process reads them.
        // Without BN the steps agree within float rounding; a rank that read another order would have
        // stepped on another mix of rows, off by the whole size of a step.
        var ml = new MLContext(seed: 1);
        IDataView view = ml.Data.LoadFromEnumerable(rows);
        IDataView keys = ml.Data.LoadFromEnumerable(ClassNames.Select(name => new { Label = name }));
        var options = new BnInceptionMulticlassTrainer.Options
        {
            ImageSize = 64,
            Training = TrainerOptions.PaperBnX30 with { Epochs = 1, BatchSize = 8, LearningRate = 0.1, Seed = 5, Augmentation = AugmentationOptions.None },
            Architecture = new BnInceptionOptions { BatchNorm = false },
        };
        TransformerChain<BnInceptionPredictionTransformer> alone = ml.Transforms.Conversion.MapValueToKey("Label", keyData: keys)
            .Append(ml.MulticlassClassification.Trainers.BnInception(options)).Fit(view);
        using BnInceptionPredictionTransformer aloneNetwork = alone.LastTransformer;
        using var initial = new BnInception(aloneNetwork.Model.Options, seed: 5);
        Dictionary<string, Tensor> expected = aloneNetwork.Model.state_dict();
        Dictionary<string, Tensor> start = initial.state_dict();
        IReadOnlyList<KeyValuePair<string, Tensor>> parallel = PyTorchStateDict.Load(folder.File("weights.pt"));
        Assert.That(parallel.Select(pair => pair.Key), Is.EquivalentTo(expected.Keys));
        double largestUpdate = 0;
        foreach ((string name, Tensor trained) in parallel)
        {
            using (trained)
            using (DisposeScope scope = NewDisposeScope())
            {
                double updateSize = expected[name].sub(start[name]).abs().max().item<float>();
                double differenceSize = trained.sub(expected[name]).abs().max().item<float>();
                largestUpdate = Math.Max(largestUpdate, updateSize);
                Assert.That(differenceSize, Is.LessThanOrEqualTo((1e-3 * updateSize) + 1e-7), $"{name}: the two-rank fit differs from one process's");
            }
        }

        Assert.That(largestUpdate, Is.GreaterThan(1e-4), "the steps moved the weights, so the comparison says something");

        // Rank 0's file, loaded here, scores the rows as the ranks did (ONNX Runtime against libtorch: float rounding).
        ml.TempFilePath = Directory.CreateDirectory(folder.File("load-temporary")).FullName;
        var loaded = (TransformerChain<ITransformer>)BnInceptionModelFile.Load(ml, folder.File("model.zip"), out _);
        using (loaded)
        {
            float[][] loadedScores = [.. loaded.Transform(ml.Data.LoadFromEnumerable(rows.Take(4))).GetColumn<float[]>("Score")];
            Assert.That(loadedScores, Has.Length.EqualTo(rankScores.Length));
            for (int i = 0; i < rankScores.Length; i++)
            {
                double worst = loadedScores[i].Zip(rankScores[i], (a, b) => Math.Abs(a - b)).Max();
                Assert.That(worst, Is.LessThan(1e-4 * rankScores[i].Max(Math.Abs)), $"row {i}: the loaded model's scores against the ranks'");
            }
        }
    }

    [Test]
    public void EachRankValidatesItsShareOfTheValidationRowsAndEveryRankGetsTheWholeSetsLossAndAccuracy()
    {
        // 149 validation rows, 64 per rank per evaluation batch: global batches of 128 (64 and 64) and 21 (10 and 11).
        const int validationRows = 149;
        using var folder = new TemporaryDirectory();
        ImageRow[] rows = WriteData(folder.File("data.pt"), count: ProbeTrainRows + validationRows);

        ExternalProcess.Result job = Mpirun.RunTwoRanks("dotnet", [Probe, "mlnet-validate", folder.File("data.pt"), folder.Path], TimeSpan.FromMinutes(3),
            environment: new Dictionary<string, string?> { [TorchRuntime.ThreadsVariable] = "1" }).AssertSucceeded();

        // Each validation row decoded once, by one rank: until this version every rank decoded all 149.
        Assert.That(Captured(job, $"rank 0: decoded (\\d+) validation rows of {validationRows}"), Is.EqualTo("74"), job.Output);
        Assert.That(Captured(job, $"rank 1: decoded (\\d+) validation rows of {validationRows}"), Is.EqualTo("75"), job.Output);
        Match reported = Regex.Match(job.Output, "rank 0: epoch 1 validation loss (\\S+) accuracy (\\S+)");
        Assert.That(reported.Success, Is.True, job.Output);
        double loss = double.Parse(reported.Groups[1].Value, CultureInfo.InvariantCulture);
        double accuracy = double.Parse(reported.Groups[2].Value, CultureInfo.InvariantCulture);

        // The network rank 0 saved, evaluated here in one process on all 149 rows: the ranks' sums make the whole
        // set's (the ranks' means averaged would not: 74 and 75 rows). Each image's logits may differ in their last bits
        // between a batch of 11 and one of 21, so the loss is compared to a millionth. Two steps at 0.1 leave a network
        // that gives every row one class, far ahead of the others: the accuracy counts that class's rows, which rank 0's
        // share alone holds in another proportion.
        using var network = new BnInception(new BnInceptionOptions { NumClasses = 3, InputSize = 64, InputChannels = 1, BatchNorm = false }, seed: 1);
        IReadOnlyList<KeyValuePair<string, Tensor>> weights = PyTorchStateDict.Load(folder.File("weights.pt"));
        PyTorchStateDict.LoadInto(network, weights);
        foreach ((string _, Tensor weight) in weights)
        {
            weight.Dispose();
        }

        float[] pixels = [.. rows.Skip(ProbeTrainRows).SelectMany(row => row.Features)];
        long[] labels = [.. rows.Skip(ProbeTrainRows).Select(row => (long)Array.IndexOf(ClassNames, row.Label))];
        using Tensor images = tensor(pixels, [validationRows, 1, 64, 64]);
        using Tensor targets = tensor(labels);
        (double expectedLoss, double expectedAccuracy) = BnInceptionTrainer.Evaluate(network, images, targets);
        Assert.That(accuracy, Is.EqualTo(expectedAccuracy), "the validation accuracy of all 149 rows");
        Assert.That(loss, Is.EqualTo(expectedLoss).Within(1e-6 * expectedLoss), "the validation loss of all 149 rows");
        Assert.That(RankZeroShareAccuracy(network, images, targets), Is.Not.EqualTo(accuracy), "rank 0's share alone gives another accuracy");
    }

    // The accuracy on rank 0's share of the 149 validation rows alone: the first 64 of the global batch of 128, the first 10 of the last 21.
    private static double RankZeroShareAccuracy(BnInception network, Tensor images, Tensor targets)
    {
        using DisposeScope scope = NewDisposeScope();
        Tensor rows = tensor(Enumerable.Range(0, 64).Concat(Enumerable.Range(128, 10)).Select(row => (long)row).ToArray());
        return BnInceptionTrainer.Evaluate(network, images.index_select(0, rows), targets.index_select(0, rows)).Accuracy;
    }

    // Grey 64 x 64 images of 3 classes (16 unless told), each class a brightness plus a fixed texture; saved for the probe, returned as rows.
    private static ImageRow[] WriteData(string path, int count = Rows)
    {
        const int size = 64 * 64;
        long[] labels = [.. Enumerable.Range(0, count).Select(i => (long)((i * 7) % ClassNames.Length))];
        float[] pixels = new float[count * size];
        for (int i = 0; i < count; i++)
        {
            for (int p = 0; p < size; p++)
            {
                pixels[(i * size) + p] = labels[i] + (((i * 7919) + (p * 31)) % 97 / 97f);
            }
        }

        using Tensor images = tensor(pixels, [count, 1, 64, 64]);
        using Tensor classes = tensor(labels);
        PyTorchStateDict.Save([new("images", images), new("labels", classes)], path);
        return [.. Enumerable.Range(0, count).Select(i => new ImageRow { Features = pixels[(i * size)..((i + 1) * size)], Label = ClassNames[labels[i]] })];
    }

    private static string Captured(ExternalProcess.Result job, string pattern)
    {
        Match match = Regex.Match(job.Output, pattern, RegexOptions.Multiline);
        Assert.That(match.Success, Is.True, $"the job printed no line matching '{pattern}':\n{job.Output}");
        return match.Groups[1].Value;
    }
}
