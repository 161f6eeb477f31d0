using TorchSharp;
using TorchSharp.Utils;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.BNInception.Models;

/// <summary>
/// The network's building block: convolution → batch normalization → nonlinearity (SPEC.md §1: BN
/// after the convolution, before the nonlinearity). With BN the convolution has no bias, because
/// β takes its place; without BN it has one. State-dict keys: <c>conv.weight</c>, <c>conv.bias</c>
/// (no BN only), <c>bn.weight</c>, <c>bn.bias</c>, <c>bn.running_mean</c>, <c>bn.running_var</c>,
/// <c>bn.num_batches_tracked</c>.
/// </summary>
public sealed class ConvBnRelu : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "conv")]
    private readonly Conv2d _conv;

    [ComponentName(Name = "bn")]
    private readonly BatchNorm2d? _bn;

    /// <summary>Creates the block.</summary>
    public ConvBnRelu(long inChannels, long outChannels, long kernelSize, long stride, long padding, BnInceptionOptions options)
        : base(nameof(ConvBnRelu))
    {
        ArgumentNullException.ThrowIfNull(options);
        Activation = options.Activation;
        _conv = nn.Conv2d(inChannels, outChannels, kernelSize, stride, padding, bias: !options.BatchNorm);
        if (options.BatchNorm)
        {
            _bn = nn.BatchNorm2d(outChannels, options.BatchNormEpsilon, options.BatchNormMomentum);
        }

        RegisterComponents();
    }

    /// <summary>The convolution.</summary>
    public Conv2d Conv => _conv;

    /// <summary>The batch normalization, or null in the baseline without BN.</summary>
    public BatchNorm2d? Bn => _bn;

    /// <summary>The nonlinearity.</summary>
    public Activation Activation { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        // Intermediate tensors are released at once; autograd keeps what it needs for backward.
        using Tensor convolved = _conv.call(input);
        if (_bn is null)
        {
            return Activate(convolved);
        }

        using Tensor normalised = _bn.call(convolved);
        return Activate(normalised);
    }

    private Tensor Activate(Tensor x) => Activation == Activation.Relu ? x.relu() : x.sigmoid();
}
