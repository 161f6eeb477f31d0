using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// A batch of labelled images as a <see cref="ILabelledBatchSource"/> hands it to the trainer, which
/// disposes it after use.
/// </summary>
/// <param name="Images">
/// N × channels × S × S, float32, on the CPU, S being the network's input size. For training with
/// augmentation on they may be larger, N × channels × H × W with H and W at least S (the same within a
/// batch): the trainer copies the batch to its device, where the random crop resamples it to S × S.
/// </param>
/// <param name="Labels">N class indices, int64.</param>
/// <param name="Rows">The source's own numbers for the N examples (a row of a file, an index into a tensor), used in error messages.</param>
public sealed record LabelledBatch(Tensor Images, Tensor Labels, IReadOnlyList<long> Rows) : IDisposable
{
    /// <summary>
    /// When the source has already checked every label against a number of classes (as
    /// <see cref="InMemoryBatchSource"/> does when it is made), that number; otherwise null. The
    /// trainer checks each batch's labels before its step unless they were checked against at most
    /// the network's classes: labels on a GPU can only be checked by reading a result back, which
    /// waits for the device to finish the steps before it and so stalls every step.
    /// </summary>
    public int? LabelsCheckedForClasses { get; init; }

    /// <summary>Frees both tensors.</summary>
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
