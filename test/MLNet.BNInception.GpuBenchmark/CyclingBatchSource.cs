using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.GpuBenchmark;

/// <summary>
/// One pass of <paramref name="batches"/> batches of <paramref name="imagesPerBatch"/>, read from
/// <paramref name="inner"/>'s passes one after another (each shuffled with a seed of its own): a long
/// epoch over a few distinct batches. The trainer reads the losses back, starts a batch reader and
/// ends an epoch (metrics, schedule) once an epoch, so epochs of a few batches would time that work
/// along with the steps, where a real epoch has thousands of steps; the ML.NET side of the benchmark
/// trains one epoch too.
/// </summary>
/// <param name="inner">The distinct batches: whole batches of <paramref name="imagesPerBatch"/>.</param>
internal sealed class CyclingBatchSource(ILabelledBatchSource inner, int imagesPerBatch, long batches) : ILabelledBatchSource
{
    /// <inheritdoc/>
    public long Count => batches * imagesPerBatch;

    /// <inheritdoc/>
    public IEnumerable<LabelledBatch> ReadBatches(int batchSize, ulong? shuffleSeed, int skipBatches, bool dropLastBatch,
        CancellationToken cancellationToken)
    {
        if (batchSize != imagesPerBatch || inner.Count == 0 || inner.Count % batchSize != 0 || skipBatches != 0)
        {
            throw new ArgumentException($"Made for whole batches of {imagesPerBatch} from the first: asked for batches of {batchSize} " +
                $"from batch {skipBatches}, of {inner.Count} images.");
        }

        return Read(shuffleSeed, cancellationToken);
    }

    private IEnumerable<LabelledBatch> Read(ulong? shuffleSeed, CancellationToken cancellationToken)
    {
        long served = 0;
        for (ulong pass = 0; ; pass++)
        {
            foreach (LabelledBatch batch in inner.ReadBatches(imagesPerBatch, shuffleSeed + pass, 0, dropLastBatch: false, cancellationToken))
            {
                served++;
                yield return batch;
                if (served == batches)
                {
                    yield break;
                }
            }
        }
    }
}
