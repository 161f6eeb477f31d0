namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// Labelled images that the trainer reads a batch at a time, so a training set never has to be in
/// memory at once: <see cref="InMemoryBatchSource"/> serves tensors, and the ML.NET integration
/// serves rows of a data view. One pass (an epoch) is one call of <see cref="ReadBatches"/>.
/// The trainer checks each batch as it arrives: images of the network's input size, or, for
/// training with augmentation on, at least that on each side (see <see cref="LabelledBatch.Images"/>),
/// and labels within the network's classes, unless the batch says its source checked them already
/// (<see cref="LabelledBatch.LabelsCheckedForClasses"/>).
/// </summary>
public interface ILabelledBatchSource
{
    /// <summary>The number of examples in one pass.</summary>
    long Count { get; }

    /// <summary>
    /// One pass over the examples in batches of <paramref name="batchSize"/> (the last one may be
    /// shorter). With a <paramref name="shuffleSeed"/> the examples come in an order drawn from that
    /// seed, the same order every time the same seed is given (a resumed run relies on it); without
    /// one, in the source's own order. The first <paramref name="skipBatches"/> batches of that
    /// order are left out (a resumed run starts mid-pass); <paramref name="dropLastBatch"/> leaves out
    /// a short last batch. Each batch belongs to the caller, who disposes it. Reading stops within
    /// one batch of <paramref name="cancellationToken"/> being cancelled. The trainer reads a pass on
    /// a thread of its own, a few batches ahead of training, and asks for no more batches than the
    /// pass holds.
    /// </summary>
    IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch,
        CancellationToken cancellationToken);
}
