using MLNet.BNInception.Models;
using MLNet.BNInception.Torch;
using F = MLNet.BNInception.Torch.torch.nn.functional;

namespace MLNet.BNInception.Inference;

/// <summary>
/// Scores images with a trained BN-Inception: eval mode, BN folded into the convolutions by
/// default, inference mode (no autograd bookkeeping), in batches. The scorer owns a copy of the
/// weights, so later training of the source model does not change it. It is safe to call from
/// several threads at once: scoring only reads the weights, and libtorch's modes and this
/// binding's dispose scopes are per thread.
/// </summary>
public sealed class BnInceptionScorer : IDisposable
{
    private readonly BnInception _network;
    private bool _disposed;

    /// <summary>Creates the scorer from <paramref name="model"/>'s current weights.</summary>
    /// <param name="model">The trained network.</param>
    /// <param name="foldBatchNorm">Fold BN into the convolutions (default true); false scores with BN layers in eval mode.</param>
    /// <param name="batchSize">Images per forward pass; default 64.</param>
    public BnInceptionScorer(BnInception model, bool foldBatchNorm = true, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        BatchSize = batchSize;
        IsFolded = foldBatchNorm && model.Options.BatchNorm;
        if (IsFolded)
        {
            _network = BatchNormFolding.Fold(model);
        }
        else
        {
            _network = new BnInception(model.Options);
            _network.load_state_dict(model.state_dict());
            _network.eval();
        }
    }

    /// <summary>Images per forward pass.</summary>
    public int BatchSize { get; }

    /// <summary>True when BN is folded into the convolutions.</summary>
    public bool IsFolded { get; }

    /// <summary>The architecture settings.</summary>
    public BnInceptionOptions Options => _network.Options;

    /// <summary>Logits, N × classes, for images N × channels × side × side (float32).</summary>
    public Tensor Logits(Tensor images)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(images);
        long count = images.size(0);
        using IDisposable inference = torch.inference_mode();
        using DisposeScope scope = torch.NewDisposeScope();
        var batches = new List<Tensor>();
        for (long start = 0; start < count; start += BatchSize)
        {
            batches.Add(_network.call(images.narrow(0, start, Math.Min(BatchSize, count - start))));
        }

        Tensor result = batches.Count == 1 ? batches[0] : torch.cat(batches);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Softmax probabilities, N × classes.</summary>
    public Tensor Probabilities(Tensor images)
    {
        using Tensor logits = Logits(images);
        using IDisposable inference = torch.inference_mode();
        return F.softmax(logits, 1);
    }

    /// <summary>The <paramref name="k"/> most probable classes per image, most probable first, with their probabilities.</summary>
    public (Tensor Probabilities, Tensor Classes) TopK(Tensor images, int k)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(k, Options.NumClasses);
        using Tensor probabilities = Probabilities(images);
        using IDisposable inference = torch.inference_mode();
        return probabilities.topk(k, dim: 1);
    }

    /// <summary>Frees the scorer's copy of the weights.</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            _network.Dispose();
        }
    }
}
