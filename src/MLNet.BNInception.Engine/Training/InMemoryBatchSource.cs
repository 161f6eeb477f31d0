using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// Labelled images held as two tensors: N × C × H × W float32 images, H and W at least the
/// network's side S (larger images are cropped and resampled to S × S by augmentation, or resized
/// whole everywhere else), and N int64 labels. Every value is checked
/// when the source is made, so the trainer does not check the labels again batch by batch
/// (<see cref="LabelledBatch.LabelsCheckedForClasses"/>). The source does not own the tensors.
/// </summary>
public sealed class InMemoryBatchSource : ILabelledBatchSource
{
    private readonly Tensor _images;
    private readonly Tensor _labels;

    /// <summary>Wraps <paramref name="images"/> and <paramref name="labels"/>, checking them against the network's settings.</summary>
    /// <param name="images">N × <see cref="Network.BnInceptionOptions.InputChannels"/> × H × W, float32, H and W at least <see cref="Network.BnInceptionOptions.InputSize"/>.</param>
    /// <param name="labels">N class indices, int64, each in 0 … NumClasses − 1, on the images' device.</param>
    /// <param name="model">The network the data is for.</param>
    /// <param name="what">Names the data in error messages, e.g. "training".</param>
    /// <exception cref="ArgumentException">A shape, element type, device or label does not fit; the message names the row or the devices.</exception>
    public InMemoryBatchSource(Tensor images, Tensor labels, Network.BnInceptionOptions model, string what = "training")
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(model);
        TorchRuntime.EnsureLoaded();
        model.CheckResizableImageShape(images.shape, $"The {what} images", nameof(images));

        if (images.dtype != ScalarType.Float32)
        {
            throw new ArgumentException($"The {what} images must be float32, not {images.dtype}.", nameof(images));
        }

        long count = images.size(0);
        if (labels.dtype != ScalarType.Int64 || labels.ndim != 1 || labels.size(0) != count)
        {
            throw new ArgumentException(
                $"The {what} labels must be {count} int64 class indices, got [{string.Join(", ", labels.shape)}] {labels.dtype}.", nameof(labels));
        }

        // Each batch is picked from both with one index tensor on the images' device; libtorch's own
        // error for a mismatch names neither tensor, and comes only at the first batch.
        if (labels.device_type != images.device_type || labels.device_index != images.device_index)
        {
            throw new ArgumentException(
                $"The {what} images are on {images.device} and their labels on {labels.device}: put both on one device.", nameof(labels));
        }

        long row = ClassIndices.FirstOutOfRange(labels, model.NumClasses);
        if (row >= 0)
        {
            throw new ArgumentException(
                $"The {what} label at row {row} is {ClassIndices.At(labels, row)}, outside 0..{model.NumClasses - 1} (NumClasses is {model.NumClasses}).",
                nameof(labels));
        }

        _images = images;
        _labels = labels;
        _classes = model.NumClasses;
        Count = count;
    }

    private readonly int _classes;

    /// <inheritdoc/>
    public long Count { get; }

    /// <inheritdoc/>
    public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(skipBatches);
        return Read(batchSize, shuffleSeed, skipBatches, dropLastBatch, cancellationToken);
    }

    private IEnumerable<LabelledBatch> Read(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch,
        CancellationToken cancellationToken)
    {
        long[] order = Order(shuffleSeed);
        long end = dropLastBatch ? Count - (Count % batchSize) : Count;
        for (long start = (long)skipBatches * batchSize; start < end; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long[] rows = order[(int)start..(int)Math.Min(start + batchSize, end)];
            // On the images' device: a source may hold its tensors on the GPU already. The copy does
            // not wait for the device (a tensor made from an array on a GPU would: libtorch copies it
            // there blocking, which waits for every step queued before it).
            using Tensor onHost = tensor(rows);
            using Tensor indices = onHost.to(_images.device, non_blocking: true);
            yield return new LabelledBatch(_images.index_select(0, indices), _labels.index_select(0, indices), rows)
            {
                LabelsCheckedForClasses = _classes,
            };
        }
    }

    // The order comes from a generator of its own, so that shuffling leaves the global stream
    // (augmentation, dropout) alone and the same seed always gives the same order.
    private long[] Order(ulong? shuffleSeed)
    {
        if (shuffleSeed is null)
        {
            long[] identity = new long[Count];
            for (long i = 0; i < Count; i++)
            {
                identity[i] = i;
            }

            return identity;
        }

        using var generator = new Generator(shuffleSeed.Value);
        using Tensor permutation = randperm(Count, generator: generator);
        return permutation.data<long>().ToArray();
    }
}
