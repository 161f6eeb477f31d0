using MLNet.BNInception.Engine.Training;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Distributed;

/// <summary>
/// One rank's share of a training source in a data-parallel run: each pass cuts the source's order
/// into global batches (the rank's batch size × the number of ranks, in the order the epoch's seed
/// draws, the same on every rank) and gives this rank its share of each, so that every example is
/// trained on once per epoch, by one rank, and every rank takes the same number of steps.
/// </summary>
/// <remarks>
/// Rank r of S keeps rows ⌊r·n/S⌋ to ⌊(r+1)·n/S⌋ − 1 of a global batch of n rows: a full global batch
/// gives every rank exactly its batch size; a short last one is split as evenly as it goes (its
/// smallest share is ⌊n/S⌋ rows, which the trainer checks is at least 2, for BN). A source that can
/// read a share itself (<see cref="IShardableBatchSource"/>: the ML.NET data view's) fetches the
/// images and labels of its rank's rows only, and moves past the others' reading their row numbers
/// alone, so each image is decoded by one rank; any other source gives each rank whole global
/// batches, of which it keeps its slice. docs/distributed.md says when every rank still decodes
/// every image (a cache filling, the check of LoadImagesSafely under Skip).
/// </remarks>
internal sealed class RankShardedBatchSource : ILabelledBatchSource
{
    private readonly ILabelledBatchSource _global;
    private readonly int _rank;
    private readonly int _size;
    private ulong _rowsHash = Fnv1a.Empty;

    /// <summary>Rank <paramref name="rank"/>'s share, of <paramref name="size"/> ranks, of <paramref name="global"/>.</summary>
    public RankShardedBatchSource(ILabelledBatchSource global, int rank, int size)
    {
        ArgumentNullException.ThrowIfNull(global);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, size);
        _global = global;
        _rank = rank;
        _size = size;
    }

    /// <summary>The examples of one pass over all ranks together: the global source's count.</summary>
    public long Count => _global.Count;

    /// <summary>
    /// This rank's share of each global batch of <paramref name="batchSize"/> × the number of ranks;
    /// <paramref name="skipBatches"/> and <paramref name="dropLastBatch"/> count global batches, which
    /// are as many as each rank's.
    /// </summary>
    public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int globalBatchSize = checked(batchSize * _size);
        IEnumerable<BatchShare> shares = _global is IShardableBatchSource shardable
            ? shardable.ReadShares(PassLayout.Shared(_global.Count, globalBatchSize, _rank, _size, skipBatches, dropLastBatch), shuffleSeed,
                cancellationToken)
            : Slices(_global.ReadBatches(globalBatchSize, shuffleSeed, skipBatches, dropLastBatch, cancellationToken));
        return Hashed(shares);
    }

    /// <summary>
    /// A hash of the source's row numbers of every global batch the last pass read, in order (FNV-1a,
    /// 64 bits): equal on every rank when every rank read the same rows in the same order, which
    /// <see cref="DataParallel.CheckSameRows"/> checks at the end of each epoch. Read it once the
    /// pass's reader has finished.
    /// </summary>
    public long RowsHashOfLastPass => unchecked((long)_rowsHash);

    /// <summary>The first row and the count of rank <paramref name="rank"/>'s share of a global batch of <paramref name="rows"/> rows.</summary>
    internal static (int Start, int Count) Share(int rows, int rank, int size)
    {
        int start = (int)((long)rank * rows / size);
        int end = (int)((long)(rank + 1) * rows / size);
        return (start, end - start);
    }

    /// <summary>
    /// The steps of a pass over <paramref name="count"/> examples, every rank's the same: global
    /// batches of <paramref name="batchSize"/> × <paramref name="size"/> ranks (1 without data
    /// parallelism), the short last one shared as evenly as it goes (<see cref="Share"/>), so each
    /// rank must get at least 2 of it, for batch normalization.
    /// </summary>
    /// <exception cref="BatchSizeMismatchException">A rank's part of the last batch is under 2, or no batch is full with <paramref name="dropLastBatch"/>.</exception>
    internal static int StepsPerEpoch(long count, int batchSize, int size, bool dropLastBatch)
    {
        long globalBatch = (long)batchSize * size;
        long remainder = count % globalBatch;
        if (!dropLastBatch && remainder > 0 && remainder / size < 2)
        {
            throw new BatchSizeMismatchException(size == 1
                ? $"{count} training images in batches of {batchSize} leave a last batch of 1 image, which batch normalization " +
                  "cannot train on. Set DropLastBatch or change BatchSize."
                : $"{count} training images in global batches of {batchSize} x {size} processes leave a last global batch of {remainder}, " +
                  $"which gives a process {remainder / size}: batch normalization needs at least 2 on each. Set DropLastBatch or change BatchSize.",
                count, batchSize) { Processes = size };
        }

        long steps = dropLastBatch ? count / globalBatch : (count + globalBatch - 1) / globalBatch;
        if (steps == 0)
        {
            throw new BatchSizeMismatchException(size == 1
                ? $"{count} training images do not fill one batch of {batchSize} with DropLastBatch set."
                : $"{count} training images do not fill one global batch of {batchSize} x {size} processes with DropLastBatch set.",
                count, batchSize) { Processes = size };
        }

        return checked((int)steps);
    }

    private IEnumerable<LabelledBatch> Hashed(IEnumerable<BatchShare> shares)
    {
        _rowsHash = Fnv1a.Empty;
        foreach (BatchShare share in shares)
        {
            foreach (long row in share.GlobalRows)
            {
                _rowsHash = Fnv1a.Add(_rowsHash, (ulong)row);
            }

            yield return share.Batch;
        }
    }

    private IEnumerable<BatchShare> Slices(IEnumerable<LabelledBatch> globalBatches)
    {
        foreach (LabelledBatch global in globalBatches)
        {
            using (global)
            {
                (int start, int count) = Share(global.Rows.Count, _rank, _size);
                // Copies, so that the rest of the global batch is freed now rather than with the slice.
                using Tensor images = global.Images.narrow(0, start, count);
                using Tensor labels = global.Labels.narrow(0, start, count);
                var slice = new LabelledBatch(images.clone(), labels.clone(), global.Rows.Skip(start).Take(count).ToArray())
                {
                    LabelsCheckedForClasses = global.LabelsCheckedForClasses,
                };
                yield return new BatchShare(slice, global.Rows);
            }
        }
    }
}
