using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Distributed;

/// <summary>
/// How one pass is cut into batches, and which rows of each batch one rank takes, known before the
/// first row is read: a source that fetches the values of its rank's rows only
/// (<see cref="IShardableBatchSource"/>) must know, as each row comes, whether it is one of them. A
/// share depends on its global batch's row count (<see cref="RankShardedBatchSource.Share"/>), which
/// for a short last batch the pass's row count gives.
/// </summary>
internal sealed class PassLayout
{
    private readonly long? _count;
    private readonly int _rank;
    private readonly int _size;
    private readonly int _skipBatches;

    private PassLayout(long? count, int batchSize, int rank, int size, int skipBatches, bool dropLastBatch)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(skipBatches);
        _count = count;
        _rank = rank;
        _size = size;
        _skipBatches = skipBatches;
        BatchSize = batchSize;
        DropLastBatch = dropLastBatch;
        if (count is long rows)
        {
            long batches = dropLastBatch ? rows / batchSize : (rows + batchSize - 1) / batchSize;
            Batches = Math.Max(0, batches - skipBatches);
        }
    }

    /// <summary>
    /// Batches of <paramref name="batchSize"/> rows taken whole, as many as the rows fill; the rows
    /// left at the end make a short last batch, unless <paramref name="dropLastBatch"/>.
    /// </summary>
    public static PassLayout Whole(int batchSize, int skipBatches, bool dropLastBatch) =>
        new(null, batchSize, 0, 1, skipBatches, dropLastBatch);

    /// <summary>
    /// Rank <paramref name="rank"/>'s share, of <paramref name="size"/> ranks, of each global batch of
    /// <paramref name="globalBatchSize"/> rows of a pass over <paramref name="count"/> rows: the
    /// batches <see cref="ILabelledBatchSource.ReadBatches"/> would give with these settings.
    /// </summary>
    public static PassLayout Shared(long count, int globalBatchSize, int rank, int size, int skipBatches, bool dropLastBatch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(rank);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(rank, size);
        return new(count, globalBatchSize, rank, size, skipBatches, dropLastBatch);
    }

    /// <summary>The ranks whose shares make each batch; 1 for <see cref="Whole"/> batches.</summary>
    public int Ranks => _size;

    /// <summary>The rows of a full batch (a global batch, when shared).</summary>
    public int BatchSize { get; }

    /// <summary>Whether a short last batch is left out.</summary>
    public bool DropLastBatch { get; }

    /// <summary>
    /// The batches the pass gives, after the skipped ones; null for <see cref="Whole"/> batches,
    /// whose number the rows decide as they run out.
    /// </summary>
    public long? Batches { get; }

    /// <summary>The rows before the pass's first batch: those of the skipped batches, all full.</summary>
    public long RowsSkipped => (long)_skipBatches * BatchSize;

    /// <summary>The rows of the pass's batch <paramref name="batch"/>, counted from 0 after the skipped ones.</summary>
    public int RowsOf(long batch) => _count is long count
        ? (int)Math.Min(BatchSize, count - ((_skipBatches + batch) * BatchSize))
        : BatchSize;

    /// <summary>The first row and the count of this rank's share of the pass's batch <paramref name="batch"/>.</summary>
    public (int Start, int Count) ShareOf(long batch) => RankShardedBatchSource.Share(RowsOf(batch), _rank, _size);
}
