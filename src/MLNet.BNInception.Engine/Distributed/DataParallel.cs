using System.Globalization;
using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Distributed;

/// <summary>
/// What a training run does differently when it is one rank of several (docs/distributed.md,
/// "Data-parallel training"): it starts from rank 0's weights, averages every step's gradients
/// before the optimizer uses them, averages BN's running statistics at each epoch's end, reports
/// the global batch's loss and accuracy, takes decisions (cancel, stop early) together, and checks
/// at the end that every rank holds the same network. Exists only when <see cref="MpiWorld.IsDistributed"/>:
/// a run of one process never makes one, so it trains exactly as before.
/// </summary>
/// <remarks>
/// Every method is a collective operation: every rank calls it at the same point of the run. The
/// operations work on CPU memory; a CUDA tensor is staged through a pinned host copy (copy to the
/// host, reduce, copy back), as <see cref="MpiWorld"/> hands no device memory to MPI.
/// </remarks>
internal sealed class DataParallel : IDisposable
{
    /// <summary>
    /// Gradients are reduced in runs of at most this many float32 values (25 MB, PyTorch DDP's bucket):
    /// on CUDA each run's staging copy is that size, and a copy back to the device overlaps the next
    /// run's reduction.
    /// </summary>
    public const long BucketElements = 25L * 1024 * 1024 / sizeof(float);

    private readonly MpiWorld _world;
    private readonly List<Tensor?> _stagingBuffers = [];

    private DataParallel(MpiWorld world) => _world = world;

    /// <summary>This process's rank.</summary>
    public int Rank => _world.Rank;

    /// <summary>The number of ranks.</summary>
    public int Size => _world.Size;

    /// <summary>
    /// Whether a collective operation has told every rank to stop (a cancellation on some rank, a
    /// non-finite loss, a check that failed): every rank then stops at the same point, in step.
    /// </summary>
    public bool StoppedTogether { get; private set; }

    /// <summary>The data-parallel side of a run in <paramref name="world"/>, or null for a world of one.</summary>
    public static DataParallel? For(MpiWorld world)
    {
        ArgumentNullException.ThrowIfNull(world);
        return world.IsDistributed ? new DataParallel(world) : null;
    }

    /// <summary>
    /// Gives every rank rank 0's parameters, BN buffers and momentum. A resumed run loads the same
    /// checkpoint everywhere, and a fresh one initialises from the same seed, but a rank that read
    /// another file or computed one bit differently would otherwise drift apart unnoticed.
    /// </summary>
    public void BroadcastModel(BnInception model, FlatSgd optimizer)
    {
        using IDisposable noGrad = no_grad();
        foreach (FlatSgd.Group group in optimizer.Groups)
        {
            Collective(group.Buffer.Values, tensor => _world.Broadcast(tensor, root: 0));
            if (group.Momentum is { } momentum)
            {
                Collective(momentum, tensor => _world.Broadcast(tensor, root: 0));
            }
        }

        foreach ((string _, Tensor buffer) in model.named_buffers())
        {
            Collective(buffer, tensor => _world.Broadcast(tensor, root: 0));
        }

        // Mixed precision computes with bfloat16 copies of the weights: they must be rank 0's too.
        optimizer.RefreshBFloat16Copies();
    }

    /// <summary>
    /// Replaces each group's flat gradient by its mean over the ranks, between the backward pass and
    /// the optimizer's step: each rank's loss is its own batch's mean, so the mean of the ranks'
    /// gradients is the gradient of the global batch's mean loss when the ranks' batches are equal.
    /// </summary>
    public void AverageGradients(FlatSgd optimizer)
    {
        for (int g = 0; g < optimizer.Groups.Count; g++)
        {
            Tensor gradients = optimizer.Groups[g].Buffer.Gradients;
            if (gradients.device_type == DeviceType.CPU)
            {
                _world.AllReduceMean(gradients);
                continue;
            }

            Tensor host = Staging(g, gradients.numel());
            long length = gradients.numel();
            using IDisposable noGrad = no_grad();
            for (long start = 0; start < length; start += BucketElements)
            {
                long count = Math.Min(BucketElements, length - start);
                using Tensor onDevice = gradients.narrow(0, start, count);
                using Tensor onHost = host.narrow(0, start, count);
                // A blocking copy: it waits for the backward pass that wrote the gradient.
                onHost.copy_(onDevice);
                _world.AllReduceMean(onHost);
                // From pinned memory the copy back is queued and the host goes on to the next bucket;
                // the step's kernels come after it on the same stream.
                onDevice.copy_(onHost, nonBlocking: true);
            }
        }
    }

    /// <summary>
    /// Averages BN's running mean and variance over the ranks (each rank normalised its own batches,
    /// as in PyTorch DDP, so each kept statistics of its own share of the data), so that validation,
    /// checkpoints and the trained network see one model. Integer buffers (batches tracked) are equal already.
    /// </summary>
    public void AverageBatchNormStatistics(BnInception model)
    {
        using IDisposable noGrad = no_grad();
        foreach ((string _, Tensor buffer) in model.named_buffers())
        {
            if (buffer.dtype is ScalarType.Float32 or ScalarType.Float64)
            {
                Collective(buffer, _world.AllReduceMean);
            }
        }
    }

    /// <summary>
    /// The steps each rank read, as the global batch saw them: the loss is the mean of the ranks'
    /// losses (each its batch's mean, so the global batch's mean when the batches are equal), the
    /// correct count and the image count are sums. One allreduce for all of them; a non-finite loss
    /// on any rank makes the mean non-finite on every rank, so all ranks stop together.
    /// </summary>
    public IReadOnlyList<ReadStep> Reduce(IReadOnlyList<ReadStep> steps)
    {
        int count = steps.Count;
        double[] values = new double[3 * count];
        for (int i = 0; i < count; i++)
        {
            values[i] = steps[i].Loss;
            values[count + i] = steps[i].Correct;
            values[(2 * count) + i] = steps[i].Step.Images;
        }

        using (Tensor reduced = tensor(values))
        {
            _world.AllReduceSum(reduced);
            values = reduced.data<double>().ToArray();
        }

        var global = new ReadStep[count];
        for (int i = 0; i < count; i++)
        {
            global[i] = new ReadStep(steps[i].Step with { Images = (long)values[(2 * count) + i] }, (float)(values[i] / Size), (long)values[count + i]);
            StoppedTogether |= !float.IsFinite(global[i].Loss);
        }

        return global;
    }

    /// <summary>Whether <paramref name="condition"/> holds on any rank: every rank gets the same answer.</summary>
    public bool AnyRank(bool condition)
    {
        using Tensor flag = tensor(new[] { condition ? 1L : 0L });
        _world.AllReduceSum(flag);
        bool any = flag.data<long>()[0] > 0;
        StoppedTogether |= any;
        return any;
    }

    /// <summary>This rank failed on its own after the ranks agreed to stop (rank 0's checkpoint, which the others wait for): no longer in step with them.</summary>
    public void LeftOutOfStep() => StoppedTogether = false;

    /// <summary>Returns when every rank has called it.</summary>
    public void WaitForEveryRank() => _world.Barrier();

    /// <summary>
    /// The sums of each of <paramref name="values"/> over the ranks, rank 0's on every rank: MPI does not
    /// promise every rank the same rounding of a sum, and a decision made from them must be the same everywhere.
    /// </summary>
    public double[] SumOverRanks(params double[] values)
    {
        using Tensor sums = tensor(values);
        _world.AllReduceSum(sums);
        _world.Broadcast(sums, root: 0);
        return sums.data<double>().ToArray();
    }

    /// <summary>
    /// Throws on every rank unless every rank holds the same weights and buffers, bit for bit: each
    /// rank hashes its state dict, and one allreduce gathers the hashes (each rank fills its own slot).
    /// </summary>
    /// <exception cref="InvalidOperationException">A rank's network differs from rank 0's; the message names the ranks.</exception>
    public void CheckReplicasIdentical(BnInception model)
    {
        long[] slots = FromEveryRank(Hash(model));
        int[] different = [.. Enumerable.Range(1, Size - 1).Where(rank => slots[rank] != slots[0])];
        if (different.Length > 0)
        {
            StoppedTogether = true;
            throw new InvalidOperationException(
                $"After training, the network of rank{(different.Length > 1 ? "s" : "")} {string.Join(", ", different)} differs from rank 0's " +
                $"(state-dict hashes {string.Join(", ", slots.Select((hash, rank) => $"rank {rank}: {hash:X16}"))}). Data-parallel ranks take the " +
                "same steps from the same weights, so they end equal unless a rank computes differently (another libtorch, another device " +
                "kind) or memory was corrupted. This rank is " + Rank + ".");
        }
    }

    /// <summary>
    /// Throws on every rank, before any training, unless every rank was given the same run: the same
    /// number of classes, of training and of validation examples, and the same settings (hashed; the
    /// device and the paths may differ). Ranks given other settings or other data would otherwise
    /// train to the end and fail only when their networks are compared, or pair mismatched collective
    /// operations (MPI_ERR_TRUNCATE) and wait for ever.
    /// </summary>
    /// <exception cref="InvalidDataException">A rank's number of classes or examples differs from rank 0's; the message names the first such and the ranks.</exception>
    /// <exception cref="ArgumentException">A rank's settings differ from rank 0's (<see cref="ArgumentException.ParamName"/> "options"); the message says which.</exception>
    public void CheckSameRun(BnInceptionOptions network, TrainerOptions training, long trainingExamples, long? validationExamples)
    {
        (string networkSettings, string trainingSettings) = SettingsCompared(network, training);
        CheckSameRun(
        [
            ("number of classes", network.NumClasses, false),
            ("number of training examples", trainingExamples, false),
            ("number of validation examples", validationExamples ?? -1, false),
            ("network settings", unchecked((long)Fnv1a.Add(Fnv1a.Empty, networkSettings)), true),
            ("training settings", unchecked((long)Fnv1a.Add(Fnv1a.Empty, trainingSettings)), true),
        ]);
    }

    /// <summary>
    /// The settings every rank must share, as the text whose hash the ranks compare: numbers written
    /// alike whatever each machine's culture (0.045, not 0,045), without what may differ between
    /// ranks: the device (cuda:0 and cuda:1 on one machine) and the paths (on other machines).
    /// </summary>
    internal static (string Network, string Training) SettingsCompared(BnInceptionOptions network, TrainerOptions training)
    {
        CultureInfo culture = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        try
        {
            return (network.ToString(), (training with { Device = "", CheckpointPath = null, InitialWeightsPath = null }).ToString());
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    /// <summary><see cref="CheckSameRun(BnInceptionOptions, TrainerOptions, long, long?)"/>'s work, over facts given as they are (tests give their own).</summary>
    internal void CheckSameRun(IReadOnlyList<(string Name, long Value, bool IsHash)> facts)
    {
        foreach ((string name, long value, bool isHash) in facts)
        {
            long[] slots = FromEveryRank(value);
            int[] different = [.. Enumerable.Range(1, Size - 1).Where(rank => slots[rank] != slots[0])];
            if (different.Length > 0)
            {
                string values = isHash ? "" : $" ({string.Join(", ", slots.Select((count, rank) => $"rank {rank}: {count}"))})";
                string message = $"The ranks were not given the same run: the {name} of rank{(different.Length > 1 ? "s" : "")} {string.Join(", ", different)} " +
                    $"differ{(different.Length > 1 ? "" : "s")} from rank 0's{values}. Every rank must run the same command, or the same program, on the " +
                    "same data (docs/distributed.md); nothing was trained. This rank is " + Rank + ".";
                StoppedTogether = true;
                // Other settings are other arguments; other counts, other data.
                throw isHash ? new ArgumentException(message, "options") : new InvalidDataException(message);
            }
        }
    }

    /// <summary>
    /// Throws on every rank unless every rank read the same rows in the same order in the
    /// <paramref name="pass"/> pass of <paramref name="epoch"/>: <paramref name="rowsHash"/> is this rank's
    /// <see cref="RankShardedBatchSource.RowsHashOfLastPass"/>. A source whose order for a seed differs
    /// between ranks would still leave the replicas identical (the gradients are averaged), but would
    /// train some examples twice per epoch and others never; validation rows that differ between ranks
    /// (an image that one machine cannot load and skips) would be counted twice or never. This finds it
    /// at the first epoch's end.
    /// </summary>
    /// <exception cref="InvalidDataException">A rank read other rows, or another order, than rank 0; the message names the ranks.</exception>
    public void CheckSameRows(long rowsHash, int epoch, string pass = "training")
    {
        long[] slots = FromEveryRank(rowsHash);
        int[] different = [.. Enumerable.Range(1, Size - 1).Where(rank => slots[rank] != slots[0])];
        if (different.Length > 0)
        {
            StoppedTogether = true;
            throw new InvalidDataException(
                $"In epoch {epoch}{(pass == "training" ? "" : $"'s {pass}")}, rank{(different.Length > 1 ? "s" : "")} {string.Join(", ", different)} read other rows than rank 0, or in another " +
                $"order (hashes of the row numbers of the global batches: {string.Join(", ", slots.Select((hash, rank) => $"rank {rank}: {hash:X16}"))}). " +
                (pass == "training"
                    ? "Every rank must read the same rows in the same order for a seed, so that each rank trains on its own share of every " +
                      "global batch: build the same data on every rank (an ML.NET view of the same files in the same order, a sorted file " +
                      "list; a custom IDataView must shuffle with the Random its cursor is given). "
                    : $"Every rank must read the same {pass} rows in the same order, so that each rank takes its own share of every global " +
                      "batch: build the same data on every rank (the same files in the same order; where a LoadImagesSafely with " +
                      "InvalidImagePolicy.Skip leaves out the images it cannot load, a file that one machine lacks or cannot read is left out " +
                      "there only: its warnings in the MLContext's log name the rows). The epoch's steps are kept in the checkpoint, where the run " +
                      "writes one: resumed on the same data, it validates again. ") +
                "This rank is " + Rank + ".");
        }
    }

    /// <summary>
    /// A 64-bit hash of every value of the state dict, bit for bit (FNV-1a over each value's bits, the
    /// entries in order): equal networks hash equal, and one flipped bit changes it.
    /// </summary>
    internal static long Hash(BnInception model)
    {
        ulong hash = Fnv1a.Empty;
        using DisposeScope scope = NewDisposeScope();
        foreach ((string name, Tensor value) in model.state_dict())
        {
            hash = Fnv1a.Add(hash, name);

            Tensor host = value.detach().cpu().contiguous();
            if (host.dtype == ScalarType.Int64)
            {
                foreach (long item in host.data<long>())
                {
                    hash = Fnv1a.Add(hash, (ulong)item);
                }
            }
            else
            {
                foreach (float item in host.to_type(ScalarType.Float32).data<float>())
                {
                    hash = Fnv1a.Add(hash, (uint)BitConverter.SingleToInt32Bits(item));
                }
            }
        }

        return unchecked((long)hash);
    }

    // Every rank's `value`, in rank order, on every rank: each fills its own slot of a sum.
    private long[] FromEveryRank(long value)
    {
        long[] slots = new long[Size];
        slots[Rank] = value;
        using Tensor gathered = tensor(slots);
        _world.AllReduceSum(gathered);
        return gathered.data<long>().ToArray();
    }

    /// <summary>Frees the pinned staging buffers.</summary>
    public void Dispose()
    {
        foreach (Tensor? buffer in _stagingBuffers)
        {
            buffer?.Dispose();
        }

        _stagingBuffers.Clear();
    }

    // Group `group`'s pinned host copy of its gradient, made at the first step and kept: pinning is slow.
    private Tensor Staging(int group, long elements)
    {
        while (_stagingBuffers.Count <= group)
        {
            _stagingBuffers.Add(null);
        }

        if (_stagingBuffers[group] is not { } buffer)
        {
            using Tensor plain = empty(elements, ScalarType.Float32, CPU);
            buffer = plain.pin_memory().DetachFromDisposeScope();
            _stagingBuffers[group] = buffer;
        }

        return buffer;
    }

    // Runs `operation` on `tensor` in place: directly on a contiguous CPU tensor, else on a host copy
    // that is copied back (a CUDA buffer; a channels-last one never comes here, buffers are 1-D).
    private static void Collective(Tensor tensor, Action<Tensor> operation)
    {
        if (tensor.device_type == DeviceType.CPU && tensor.is_contiguous())
        {
            operation(tensor);
            return;
        }

        using DisposeScope scope = NewDisposeScope();
        Tensor host = tensor.detach().cpu().contiguous();
        operation(host);
        using IDisposable noGrad = no_grad();
        tensor.copy_(host);
    }
}
