using MLNet.BNInception.Torch;
using MLNet.BNInception.Torch.Modules;

namespace MLNet.BNInception.Models;

/// <summary>
/// The network's building block: convolution → batch normalization → nonlinearity (SPEC.md §1: BN
/// after the convolution, before the nonlinearity). With BN the convolution has no bias, because
/// β takes its place; without BN it has one. State-dict keys: <c>conv.weight</c>, <c>conv.bias</c>
/// (no BN only), <c>bn.weight</c>, <c>bn.bias</c>, <c>bn.running_mean</c>, <c>bn.running_var</c>,
/// <c>bn.num_batches_tracked</c>.
/// </summary>
public sealed class ConvBnRelu : Module
{
    /// <summary>Creates the block.</summary>
    public ConvBnRelu(long inChannels, long outChannels, long kernelSize, long stride, long padding, BnInceptionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Activation = options.Activation;
        Conv = register_module("conv", new Conv2d(inChannels, outChannels, kernelSize, stride, padding, bias: !options.BatchNorm));
        if (options.BatchNorm)
        {
            Bn = register_module("bn", new BatchNorm2d(outChannels, options.BatchNormEpsilon, options.BatchNormMomentum));
        }
    }

    /// <summary>The convolution.</summary>
    public Conv2d Conv { get; }

    /// <summary>The batch normalization, or null in the baseline without BN.</summary>
    public BatchNorm2d? Bn { get; }

    /// <summary>The nonlinearity.</summary>
    public Activation Activation { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        // Intermediate handles are released at once; autograd keeps what it needs for backward.
        using Tensor convolved = Conv.call(input);
        if (Bn is null)
        {
            return Activate(convolved);
        }

        using Tensor normalised = Bn.call(convolved);
        return Activate(normalised);
    }

    private Tensor Activate(Tensor x) => Activation == Activation.Relu ? x.relu() : x.sigmoid();
}
