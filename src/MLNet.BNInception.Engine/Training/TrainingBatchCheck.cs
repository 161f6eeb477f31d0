using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// What the trainer checks of each training batch's labels before its step, so that a bad batch
/// stops the run with an error naming its row rather than in libtorch (on a GPU, a device-side
/// assertion that leaves the device unusable).
/// </summary>
internal static class TrainingBatchCheck
{
    /// <summary>
    /// Throws an <see cref="ArgumentException"/> when <paramref name="batch"/> holds fewer than two
    /// images: batch normalization normalizes by the batch's own statistics, which one example does
    /// not have (docs/paper.md, section 1: a training batch of 1 is an error). The trainer's settings
    /// are checked for that before a run, but a source may hand over a batch of any size.
    /// </summary>
    public static void CheckSize(LabelledBatch batch)
    {
        if (batch.Images.size(0) < 2)
        {
            string rows = batch.Rows.Count == 0 ? "" : $" (row {string.Join(", ", batch.Rows)})";
            throw new ArgumentException(
                $"A training batch of {batch.Images.size(0)} image{(batch.Images.size(0) == 1 ? "" : "s")}{rows}: batch normalization trains on a batch's own " +
                "statistics, which need at least two images. The batch source must give batches of at least two.");
        }
    }

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming the row when <paramref name="batch"/>'s labels
    /// are not one int64 class index per image, or one lies outside 0..<paramref name="numClasses"/>-1
    /// (unless <see cref="LabelsNeedChecking"/> says its source checked that already).
    /// </summary>
    public static void CheckLabels(LabelledBatch batch, int numClasses)
    {
        Tensor labels = batch.Labels;
        if (labels.dtype != ScalarType.Int64 || labels.ndim != 1 || labels.size(0) != batch.Images.size(0) || batch.Rows.Count != labels.size(0))
        {
            throw new ArgumentException(
                $"A training batch has {batch.Images.size(0)} images but labels [{string.Join(", ", labels.shape)}] {labels.dtype} and {batch.Rows.Count} row numbers.");
        }

        if (!LabelsNeedChecking(batch, numClasses))
        {
            return;
        }

        long position = ClassIndices.FirstOutOfRange(labels, numClasses);
        if (position >= 0)
        {
            throw new ArgumentException(
                $"The training label at row {batch.Rows[(int)position]} is {ClassIndices.At(labels, position)}, outside 0..{numClasses - 1} " +
                $"(NumClasses is {numClasses}).");
        }
    }

    /// <summary>
    /// Whether <paramref name="batch"/>'s labels must be checked against the network's
    /// <paramref name="numClasses"/>: unless its source checked every label against as many classes
    /// or fewer. The check reads a result back (nonzero), which on a GPU waits for the steps queued
    /// before it.
    /// </summary>
    public static bool LabelsNeedChecking(LabelledBatch batch, int numClasses) =>
        batch.LabelsCheckedForClasses is not int checkedFor || checkedFor > numClasses;
}
