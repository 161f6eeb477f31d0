using MLNet.BNInception.Torch.Interop;

namespace MLNet.BNInception.Torch;

public sealed partial class Tensor
{
    /// <summary>Fills with values drawn from N(<paramref name="mean"/>, <paramref name="std"/>²), in place.</summary>
    public Tensor normal_(double mean = 0, double std = 1)
    {
        NativeStatus.Check(NativeMethods.bni_normal_(Handle, mean, std));
        return this;
    }

    /// <summary>Fills with values drawn uniformly from [<paramref name="low"/>, <paramref name="high"/>), in place.</summary>
    public Tensor uniform_(double low = 0, double high = 1)
    {
        NativeStatus.Check(NativeMethods.bni_uniform_(Handle, low, high));
        return this;
    }
}
