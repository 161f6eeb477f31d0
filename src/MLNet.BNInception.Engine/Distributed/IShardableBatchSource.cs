using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Distributed;

/// <summary>
/// A source that can read one rank's share of each global batch itself, fetching the images and
/// labels of that share's rows only, where <see cref="RankShardedBatchSource"/> would otherwise read
/// whole global batches and keep a slice: worth it where fetching a row's values costs (an ML.NET
/// view that decodes an image when its value is asked for), and moving past a row does not.
/// </summary>
internal interface IShardableBatchSource : ILabelledBatchSource
{
    /// <summary>
    /// One pass cut as <paramref name="pass"/> says (made from this source's <see cref="ILabelledBatchSource.Count"/>),
    /// in the order <see cref="ILabelledBatchSource.ReadBatches"/> gives for <paramref name="shuffleSeed"/>:
    /// the same rows, in the same order, as slicing that method's global batches would give each rank.
    /// </summary>
    IEnumerable<BatchShare> ReadShares(PassLayout pass, ulong? shuffleSeed, CancellationToken cancellationToken);
}

/// <summary>
/// One rank's share of a global batch, which the caller disposes, and the source's numbers of the
/// whole global batch's rows, in order: every rank hashes all of them, to check that the ranks read
/// the same rows (<see cref="RankShardedBatchSource.RowsHashOfLastPass"/>).
/// </summary>
internal sealed record BatchShare(LabelledBatch Batch, IReadOnlyList<long> GlobalRows);
