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
/// The counts add up exactly, but each example's logits may differ from one process's in their last
/// bits, its batch holding other rows: the loss may differ in its last bits, and an example whose top
/// two classes are that close may count the other way.
/// </remarks>
internal static class SharedValidation
{
    /// <summary>
    /// The mean cross-entropy and top-1 accuracy of <paramref name="model"/> over the whole of
    /// <paramref name="validation"/>, the same on every rank; every rank calls it at the same point.
    /// </summary>
    /// <exception cref="InvalidDataException">A rank read other validation rows, or another order, than rank 0.</exception>
    /// <exception cref="OperationCanceledException">The run was cancelled on any rank: every rank throws.</exception>
    public static (double Loss, double Accuracy) Evaluate(DataParallel parallel, BnInception model, ILabelledBatchSource validation, int epoch,
        CancellationToken cancellationToken)
    {
        var share = new RankShardedBatchSource(validation, parallel.Rank, parallel.Size);
        EvaluationSums own = default;
        bool cancelled = false;
        try
        {
            own = BnInceptionTrainer.Sum(model, share, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            cancelled = true;
        }

        // Ranks stop together: one cancelled alone would leave the others waiting in the next collective
        // operation, and rank 0 would not write the epoch's checkpoint (TrainingRun saves it on every stop here).
        if (parallel.AnyRank(cancelled))
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new OperationCanceledException("Another rank of the data-parallel run was cancelled.");
        }

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
