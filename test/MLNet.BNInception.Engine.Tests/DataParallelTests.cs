using System.Text.RegularExpressions;
using MLNet.BNInception.Engine.Distributed;
using MLNet.BNInception.Engine.Interop;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// Data-parallel training (docs/distributed.md, "Data-parallel training"): two ranks under mpirun
/// running the probe program's dp-* modes (test/MLNet.BNInception.MpiProbe/TrainingProbe.cs), checked
/// against a single process trained here, and the share of each global batch a rank reads.
/// </summary>
[Category("Mpi")]
public class DataParallelTests : SingleThreadedFixture
{
    private static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(2);

    [Test]
    public void OneStepOnTwoRanksEqualsOneProcessStepOnBothBatchesTogether()
    {
        // The probe's dp-step network and settings; here one process takes all 8 images in one batch.
        var network = new BnInceptionOptions { NumClasses = 3, InputSize = 64, InputChannels = 1, BatchNorm = false };
        var options = new TrainerOptions { Epochs = 1, BatchSize = 8, LearningRate = 0.1, Seed = 3, Augmentation = AugmentationOptions.None };
        using var folder = new TemporaryDirectory();
        (Tensor images, Tensor labels) = WriteData(folder.File("data.pt"), count: 8);
        using (images)
        using (labels)
        {
            ExternalProcess.Result job = MpiTests.RunTwoRanks(["dp-step", folder.File("data.pt"), folder.File("trained.pt")], JobTimeout).AssertSucceeded();
            Assert.That(Hashes(job), Has.Count.EqualTo(2).And.All.EqualTo(Hashes(job)[0]), "both ranks end with the same network");

            using TrainingResult alone = new BnInceptionTrainer(network, options).Fit(images, labels);
            using var initial = new BnInception(network, options.Seed);
            Dictionary<string, Tensor> expected = alone.Model.state_dict();
            Dictionary<string, Tensor> start = initial.state_dict();
            IReadOnlyList<KeyValuePair<string, Tensor>> parallel = PyTorchStateDict.Load(folder.File("trained.pt"));
            Assert.That(parallel.Select(pair => pair.Key), Is.EquivalentTo(expected.Keys));
            double largestUpdate = 0;
            foreach ((string name, Tensor trained) in parallel)
            {
                using DisposeScope scope = NewDisposeScope();
                double updateSize = expected[name].sub(start[name]).abs().max().item<float>();
                double differenceSize = trained.sub(expected[name]).abs().max().item<float>();
                largestUpdate = Math.Max(largestUpdate, updateSize);
                // The averaged gradient equals the 8-image batch's within float rounding: the step
                // agrees to a thousandth of its size (a sum instead of a mean, or one rank's batch
                // alone, would be off by its whole size), and the weights to about 1e-6.
                Assert.That(differenceSize, Is.LessThanOrEqualTo((1e-3 * updateSize) + 1e-7), $"{name}: the two-rank step differs from one process's");
                double scale = expected[name].abs().max().item<float>();
                Assert.That(differenceSize, Is.LessThanOrEqualTo((2e-6 * scale) + 1e-7), $"{name}: weights differ beyond float rounding");
                trained.Dispose();
            }

            Assert.That(largestUpdate, Is.GreaterThan(1e-4), "the step moved the weights, so the comparison says something");
        }
    }

    [Trains]
    [Test]
    public void TwoRanksEndIdenticalAndAKilledRankEndsTheJobLeavingACheckpointThatResumesToTheSameNetwork()
    {
        using var folder = new TemporaryDirectory();
        string data = folder.File("data.pt");
        (Tensor images, Tensor labels) = WriteData(data, count: 16);
        using (images)
        using (labels)
        {
            // 3 epochs of 16 images with BN and augmentation, 4 per rank: rank 0 writes the checkpoints.
            string straightCheckpoint = folder.File("straight.ckpt");
            ExternalProcess.Result straight = MpiTests.RunTwoRanks(["dp-train", data, straightCheckpoint], JobTimeout).AssertSucceeded();
            IReadOnlyList<string> hashes = Hashes(straight);
            Assert.That(hashes, Has.Count.EqualTo(2).And.All.EqualTo(hashes[0]), "the replicas are identical (the run checks it too)");
            Assert.That(straight.Output, Does.Contain("rank 0: epoch 3 loss").And.Not.Contain("rank 1: epoch"), "epochs are reported on rank 0 only");
            using (TrainingCheckpoint.Loaded saved = TrainingCheckpoint.Load(straightCheckpoint))
            {
                Assert.That((saved.State.WorldSize, saved.State.Epoch, saved.State.Step), Is.EqualTo(((int?)2, 3, 6L)),
                    "the checkpoint records 2 ranks and 2 global batches of 8 per epoch");
            }

            // The same run, with rank 1 killed by SIGKILL in epoch 3 after rank 0 checkpointed epoch 2:
            // mpirun ends rank 0, waiting in the allreduce of its step, well within the timeout.
            string killedCheckpoint = folder.File("killed.ckpt");
            ExternalProcess.Result killed = MpiTests.RunTwoRanks(["dp-kill", data, killedCheckpoint], JobTimeout);
            Assert.That(killed.Output, Does.Contain("rank 0: epoch 2 loss").And.Contain("rank 1: killing itself in epoch 3"));
            Assert.That(killed.Output, Does.Not.Contain("trained"), "neither rank finished");
            Assert.That(killed.ExitCode, Is.Not.Zero, killed.Error);
            // mpirun's "process rank 1 ... exited on signal 9" is not asserted: see MpiTests, its
            // help-message channel can fail on a loaded machine.

            // A checkpoint of 2 ranks is refused by one process, which would read another share of each epoch.
            CheckpointMismatchException refused = Assert.Throws<CheckpointMismatchException>(() => BnInceptionTrainer.Resume(killedCheckpoint, images, labels))!;
            Assert.That(refused.Message, Does.Contain("is a run of 2 processes and this one has 1").And.Contain("under mpirun -np 2")
                .And.Contain("4 per process x 2 = 8").And.Contain("InitialWeightsPath"));

            // Resumed on 2 ranks, the checkpoint of epoch 2 trains epoch 3 into the uninterrupted run's network, bit for bit.
            ExternalProcess.Result resumed = MpiTests.RunTwoRanks(["dp-resume", data, killedCheckpoint], JobTimeout).AssertSucceeded();
            Assert.That(Regex.Matches(resumed.Output, "rank 0: epoch (\\d+)").Select(match => match.Groups[1].Value), Is.EqualTo(new[] { "3" }),
                "the resumed run trained epoch 3 only");
            Assert.That(Hashes(resumed), Is.EqualTo(hashes), "the resumed replicas equal the uninterrupted run's");
            Assert.That(Line(resumed, "rank 0: epoch 3 loss"), Is.EqualTo(Line(straight, "rank 0: epoch 3 loss")));
        }
    }

    [Test]
    public void RanksThatReadTheRowsInDifferentOrdersFailAtTheFirstEpochsEnd()
    {
        using var folder = new TemporaryDirectory();
        string data = WriteDataOnly(folder.File("data.pt"), count: 16);

        // Rank 1's source draws each epoch's order from another seed: its replicas would stay identical
        // (the gradients are averaged), but the ranks would train on overlapping shares of the data.
        ExternalProcess.Result job = MpiTests.RunTwoRanks(["dp-order", data, folder.File("order.ckpt")], JobTimeout);

        Assert.That(job.ExitCode, Is.Not.Zero, job.Output);
        Assert.That(job.Error, Does.Contain("In epoch 1, rank 1 read other rows than rank 0, or in another order").And.Contain("This rank is"));
        Assert.That(job.Output, Does.Not.Contain("rank 0: epoch 1 loss").And.Not.Contain("trained"), "no epoch was reported, no run finished");
        Assert.That(File.Exists(folder.File("order.ckpt")), Is.False, "no checkpoint of the epoch was written");
    }

    [Test]
    public void RanksThatValidateOnOtherRowsFailAtTheFirstValidationKeepingTheEpochsSteps()
    {
        using var folder = new TemporaryDirectory();
        string data = WriteDataOnly(folder.File("data.pt"), count: 16);

        // Each rank validates its share of the validation set: a rank whose validation rows differ from
        // rank 0's (another machine's files, skipped differently) would count some rows twice and others never.
        ExternalProcess.Result job = MpiTests.RunTwoRanks(["dp-validation-rows", data, folder.File("rows.ckpt")], JobTimeout);

        Assert.That(job.ExitCode, Is.Not.Zero, job.Output);
        Assert.That(job.Error, Does.Contain("In epoch 1's validation, rank 1 read other rows than rank 0, or in another order")
            .And.Contain("InvalidImagePolicy.Skip").And.Contain("This rank is"));
        Assert.That(job.Output, Does.Not.Contain("rank 0: epoch 1 loss").And.Not.Contain("trained"), "no epoch was reported, no run finished");
        using TrainingCheckpoint.Loaded saved = TrainingCheckpoint.Load(folder.File("rows.ckpt"));
        Assert.That((saved.State.Epoch, saved.State.Step, saved.State.NextBatch), Is.EqualTo((0, 2L, 2)),
            "the epoch's 2 global batches of 8 are kept, its validation still to do");
    }

    [Test]
    public void ACancellationOnOneRankDuringValidationStopsEveryRankTogetherKeepingTheEpochsSteps()
    {
        using var folder = new TemporaryDirectory();
        string data = WriteDataOnly(folder.File("data.pt"), count: 16);

        // Rank 1's token is cancelled as its validation share begins; rank 0 validates its own share to the end.
        ExternalProcess.Result job = MpiTests.RunTwoRanks(["dp-cancel-validation", data, folder.File("cancelled.ckpt")], JobTimeout);

        Assert.That(job.Output, Does.Contain("rank 0: cancelled").And.Contain("rank 1: cancelled"), job.Error);
        Assert.That(job.ExitCode, Is.EqualTo(130), job.Error);
        Assert.That(job.Output + job.Error, Does.Not.Contain("MPI_ABORT"), "ranks that stopped together end in step: no rank aborts the job");
        using TrainingCheckpoint.Loaded saved = TrainingCheckpoint.Load(folder.File("cancelled.ckpt"));
        Assert.That((saved.State.Epoch, saved.State.Step, saved.State.NextBatch), Is.EqualTo((0, 2L, 2)),
            "rank 0 wrote the epoch's 2 steps, its validation still to do");
    }

    [Test]
    public void ARankZeroThatCannotWriteTheCheckpointOfAStopTheRanksAgreedOnEndsTheJob()
    {
        using var folder = new TemporaryDirectory();
        string data = WriteDataOnly(folder.File("data.pt"), count: 16);

        // The ranks agree to stop during validation, and rank 1 waits for rank 0's checkpoint, which cannot be
        // written: its folder, there when training began (a missing one is refused before any step), is deleted
        // as rank 0's validation begins. Rank 0's program catches that and returns: counted as stopped with the
        // others, it would finalize while rank 1 waits for it, and the job would never end.
        string gone = Directory.CreateDirectory(folder.File("gone")).FullName;
        ExternalProcess.Result job = MpiTests.RunTwoRanks(["dp-cancel-validation-folder-gone", data, Path.Combine(gone, "run.ckpt")], JobTimeout);

        Assert.That(job.Output, Does.Contain("rank 0: the checkpoint could not be written"), job.Error);
        Assert.That(job.ExitCode, Is.Not.Zero.And.Not.EqualTo(130), job.Output + job.Error);
    }

    [Test]
    public void EachRankReadsItsShareOfEveryGlobalBatchSoEveryExampleIsSeenOncePerEpoch()
    {
        // 22 examples, 4 per rank on 2 ranks: global batches of 8, 8 and a short one of 6, split 3 and 3.
        const int count = 22;
        using Tensor images = zeros(count, 1, 64, 64);
        using Scalar classes = 3L.ToScalar();
        using Tensor range = TestTensors.Range(count, ScalarType.Int64);
        using Tensor labels = range.remainder(classes);
        var model = new BnInceptionOptions { NumClasses = 3, InputSize = 64, InputChannels = 1 };
        var global = new InMemoryBatchSource(images, labels, model);

        List<long>[] globalBatches = [.. global.ReadBatches(8, shuffleSeed: 5, skipBatches: 0, dropLastBatch: false, CancellationToken.None)
            .Select(batch => { using (batch) return batch.Rows.ToList(); })];
        List<long>[][] shares = [.. Enumerable.Range(0, 2).Select(rank => new RankShardedBatchSource(global, rank, 2)
            .ReadBatches(4, shuffleSeed: 5, skipBatches: 0, dropLastBatch: false, CancellationToken.None)
            .Select(batch => { using (batch) return batch.Rows.ToList(); }).ToArray())];

        Assert.That(shares.Select(batches => batches.Length), Is.All.EqualTo(3), "every rank takes as many steps");
        Assert.That(new RankShardedBatchSource(global, 1, 2).ReadBatches(4, shuffleSeed: 5, skipBatches: 0, dropLastBatch: false, CancellationToken.None)
                .Select(batch => { using (batch) return batch.LabelsCheckedForClasses; }), Is.All.EqualTo(3),
            "a share's labels are the global batch's, checked as they were");
        Assert.That(shares.Select(batches => batches.Select(rows => rows.Count)), Is.All.EqualTo(new[] { 4, 4, 3 }));
        for (int k = 0; k < 3; k++)
        {
            Assert.That(shares[0][k].Concat(shares[1][k]), Is.EqualTo(globalBatches[k]), $"global batch {k} is rank 0's share then rank 1's");
        }

        // A resumed pass skips global batches, and DropLastBatch drops the short global one on every rank.
        Assert.That(new RankShardedBatchSource(global, 1, 2).ReadBatches(4, 5, skipBatches: 1, dropLastBatch: true, CancellationToken.None)
            .Select(batch => { using (batch) return batch.Rows.ToList(); }), Is.EqualTo(new[] { shares[1][1] }));
        Assert.That(RankShardedBatchSource.Share(7, 0, 3), Is.EqualTo((0, 2)));
        Assert.That(RankShardedBatchSource.Share(7, 2, 3), Is.EqualTo((4, 3)));
    }

    [Trains]
    [Test]
    public void RanksStoppedTogetherInsideAnEpochResumeToTheUninterruptedWeightsAndBatchNormStatistics()
    {
        using var folder = new TemporaryDirectory();
        string data = WriteDataOnly(folder.File("data.pt"), count: 16);
        string straight = folder.File("straight.ckpt"), stopped = folder.File("stopped.ckpt");
        MpiTests.RunTwoRanks(["dp-train", data, straight], JobTimeout).AssertSucceeded();

        // Rank 0 cancels after the first of epoch 2's two steps; the ranks agree on it at the next step.
        ExternalProcess.Result cancelled = MpiTests.RunTwoRanks(["dp-cancel", data, stopped], JobTimeout);
        Assert.That(cancelled.Output, Does.Contain("rank 0: cancelled").And.Contain("rank 1: cancelled"), cancelled.Error);
        Assert.That(cancelled.ExitCode, Is.EqualTo(130), cancelled.Error);
        Assert.That(cancelled.Output + cancelled.Error, Does.Not.Contain("MPI_ABORT"), "ranks that stopped together end in step: no rank aborts the job");
        using (TrainingCheckpoint.Loaded saved = TrainingCheckpoint.Load(stopped))
        {
            Assert.That((saved.State.Epoch, saved.State.NextBatch), Is.EqualTo((1, 1)), "written inside epoch 2, after its first step");
        }

        MpiTests.RunTwoRanks(["dp-resume", data, stopped], JobTimeout).AssertSucceeded();
        Dictionary<string, Tensor> expected = PyTorchStateDict.Load(straight + ".final").ToDictionary(pair => pair.Key, pair => pair.Value);
        Dictionary<string, Tensor> resumed = PyTorchStateDict.Load(stopped + ".final").ToDictionary(pair => pair.Key, pair => pair.Value);
        try
        {
            using DisposeScope scope = NewDisposeScope();
            Assert.That(resumed.Keys, Is.EquivalentTo(expected.Keys));
            foreach ((string name, Tensor value) in resumed.Where(pair => !pair.Key.Contains("running_", StringComparison.Ordinal)))
            {
                Assert.That(value.equal(expected[name]).all().item<bool>(), Is.True, $"{name}: the weights and counts continue bit for bit");
            }

            // Each rank keeps statistics of its own rows within an epoch: the checkpoint holds their average,
            // which the epoch's end would have taken (the running averages are linear), so only rounding differs.
            double largest = resumed.Where(pair => pair.Key.Contains("running_", StringComparison.Ordinal))
                .Max(pair => (pair.Value - expected[pair.Key]).abs().max().item<float>() / Math.Max(1, expected[pair.Key].abs().max().item<float>()));
            Assert.That(largest, Is.LessThan(1e-6), "BN's running statistics, relative to each buffer's largest value");
        }
        finally
        {
            foreach (Tensor tensor in resumed.Values.Concat(expected.Values))
            {
                tensor.Dispose();
            }
        }
    }

    private static (Tensor Images, Tensor Labels) WriteData(string path, int count)
    {
        using var generator = new Generator(2024);
        using DisposeScope scope = NewDisposeScope();
        Tensor labels = randint(0, 3, [count], generator: generator);
        Tensor noise = rand([count, 1, 64, 64], generator: generator);
        Tensor images = noise.add(labels.to(ScalarType.Float32).reshape(count, 1, 1, 1), TestTensors.One);
        PyTorchStateDict.Save([new("images", images), new("labels", labels)], path);
        return (images.DetachFromDisposeScope(), labels.DetachFromDisposeScope());
    }

    // The data file alone, for tests that train only under mpirun.
    private static string WriteDataOnly(string path, int count)
    {
        (Tensor images, Tensor labels) = WriteData(path, count);
        images.Dispose();
        labels.Dispose();
        return path;
    }

    private static IReadOnlyList<string> Hashes(ExternalProcess.Result job) =>
        [.. Enumerable.Range(0, 2).Select(rank => Regex.Match(job.Output, $"rank {rank}: trained \\d+ epochs of a world of 2, hash ([0-9A-F]{{16}})"))
            .Where(match => match.Success).Select(match => match.Groups[1].Value)];

    private static string Line(ExternalProcess.Result job, string start) =>
        job.Output.Split('\n').Single(line => line.StartsWith(start, StringComparison.Ordinal)).Trim();
}
