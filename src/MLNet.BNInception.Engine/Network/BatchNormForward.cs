using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.BNInception.Engine.Network;

/// <summary>
/// What TorchSharp's <c>BatchNorm.forward</c> does (1d and 2d alike), but counting batches with a Scalar
/// that stays alive: its <c>add_(1)</c> makes Scalars the garbage collector can free during the native call
/// (see Training.SgdStep), which broke a training run in CI. Workaround for dotnet/TorchSharp#1434 and
/// #1496 (open at 0.107.0): back to <c>bn.call</c> in the first release with them, as SgdStep says.
/// </summary>
internal static class BatchNormForward
{
    // Held for the life of the process, so never freed under a native call. Static fields are set before
    // the first call, and the Scalar is native: TorchSharp's library is loaded first.
    private static readonly Scalar One;

    static BatchNormForward()
    {
        TorchRuntime.EnsureLoaded();
        One = 1.ToScalar();
    }

    /// <summary><paramref name="bn"/>'s output for <paramref name="input"/>, in training or in evaluation as the module is.</summary>
    public static Tensor Apply(BatchNorm bn, Tensor input)
    {
        double averagingFactor = bn.momentum ?? 0.0;
        if (bn.training && bn.track_running_stats && bn.num_batches_tracked is { } batches)
        {
            batches.add_(One, One);
            averagingFactor = bn.momentum ?? 1.0 / batches.item<long>();
        }

        bool useBatchStatistics = bn.training || (bn.running_mean is null && bn.running_var is null);
        bool useRunningStatistics = !bn.training || bn.track_running_stats;
        return F.batch_norm(input, useRunningStatistics ? bn.running_mean : null, useRunningStatistics ? bn.running_var : null, bn.weight, bn.bias,
            useBatchStatistics, averagingFactor, bn.eps);
    }
}
