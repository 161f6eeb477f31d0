using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// A batch of labelled images as a <see cref="ILabelledBatchSource"/> hands it to the trainer, which
/// disposes it after use.
/// </summary>
/// <param name="Images">N × channels × side × side, float32, on the CPU.</param>
/// <param name="Labels">N class indices, int64.</param>
/// <param name="Rows">The source's own numbers for the N examples (a row of a file, an index into a tensor), used in error messages.</param>
public sealed record LabelledBatch(Tensor Images, Tensor Labels, IReadOnlyList<long> Rows) : IDisposable
{
    /// <summary>Frees both tensors.</summary>
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
