using MLNet.BNInception.Engine.Network;
using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Distributed;

/// <summary>
/// Validation in a data-parallel run: each rank evaluates its share of every global batch of the
/// validation set (<see cref="RankShardedBatchSource"/>: batches of the evaluation size on each rank),
/// and one allreduce adds the ranks' sums into the whole set's, so that each example is evaluated
/// once, by one rank, and the validation of N ranks takes about 1/N of one rank's time. An ML.NET
/// view decodes each rank's rows only (<see cref="IShardableBatchSource"/>).
/// </summary>
/// <remarks>
/// The accuracy is the one process's exactly (counts add up exactly); the loss is the same sum of
/// per-example losses added in another order, so it may differ from one process's in its last bits.
/// </remarks>
internal static class SharedValidation
{
    /// <summary>
    /// The mean cross-entropy and top-1 accuracy of <paramref name="model"/> over the whole of
    /// <paramref name="validation"/>, the same on every rank; every rank calls it at the same point.
    /// </summary>
    /// <exception cref="InvalidDataException">A rank read other validation rows, or another order, than rank 0.</exception>
    public static (double Loss, double Accuracy) Evaluate(DataParallel parallel, BnInception model, ILabelledBatchSource validation, int epoch,
        CancellationToken cancellationToken)
    {
        var share = new RankShardedBatchSource(validation, parallel.Rank, parallel.Size);
        EvaluationSums own = BnInceptionTrainer.Sum(model, share, cancellationToken);
        parallel.CheckSameRows(share.RowsHashOfLastPass, epoch, "validation");
        double[] total = parallel.SumOverRanks(own.LossSum, own.Correct, own.Count);
        var sums = new EvaluationSums(total[0], (long)total[1], (long)total[2]);
        if (sums.Count == 0)
        {
            throw new ArgumentException("There is nothing to validate on: the validation data has no examples.", nameof(validation));
        }

        return sums.Means;
    }
}
