namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// What an evaluation pass adds up, before it is divided into means: kept apart so that the ranks of a
/// data-parallel run, each evaluating its share, can add theirs into the whole set's.
/// </summary>
/// <param name="LossSum">The cross-entropy of every example, added up.</param>
/// <param name="Correct">The examples whose top-1 class is their label.</param>
/// <param name="Count">The examples evaluated.</param>
internal readonly record struct EvaluationSums(double LossSum, long Correct, long Count)
{
    /// <summary>The mean cross-entropy and the top-1 accuracy; the sums of at least one example.</summary>
    public (double Loss, double Accuracy) Means => (LossSum / Count, (double)Correct / Count);
}
