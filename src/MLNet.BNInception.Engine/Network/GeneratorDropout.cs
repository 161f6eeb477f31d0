using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Network;

/// <summary>
/// Training-mode dropout whose mask comes from a given CPU generator rather than libtorch's global
/// one (<see cref="BnInception.DropoutGenerator"/>).
/// </summary>
internal static class GeneratorDropout
{
    /// <summary>
    /// <paramref name="x"/> times a Bernoulli(1 − <paramref name="p"/>) mask divided by 1 −
    /// <paramref name="p"/>: libtorch's own CPU dropout, step for step, so on the CPU it draws and
    /// computes what <c>F.dropout</c> would from the generator's state.
    /// </summary>
    public static Tensor Apply(Tensor x, double p, Generator generator)
    {
        double keep = 1 - p;
        using Scalar keepScalar = keep.ToScalar();
        using Tensor mask = empty(x.shape, x.dtype).bernoulli_(keep, generator).div_(keepScalar);
        if (x.device.type == DeviceType.CPU)
        {
            return x.mul(mask);
        }

        // TorchSharp 0.107 makes CPU generators only (THSGenerator_new ignores its device argument),
        // so for another device the mask (N × 1024) is drawn here and copied from pinned memory,
        // which does not wait for the device as a copy of that size from pageable memory may;
        // libtorch keeps the pinned block until the copy is done.
        using Tensor pinned = mask.pin_memory();
        return x.mul(pinned.to(x.device, non_blocking: true));
    }
}
