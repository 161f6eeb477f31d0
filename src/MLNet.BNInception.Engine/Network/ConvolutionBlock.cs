using TorchSharp.Modules;
using TorchSharp.Utils;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.BNInception.Engine.Network;

/// <summary>
/// The network's building block: convolution → batch normalization → nonlinearity (docs/paper.md §1: BN
/// after the convolution, before the nonlinearity). With BN the convolution has no bias, because
/// β takes its place; without BN it has one. State-dict keys: <c>conv.weight</c>, <c>conv.bias</c>
/// (no BN only), <c>bn.weight</c>, <c>bn.bias</c>, <c>bn.running_mean</c>, <c>bn.running_var</c>,
/// <c>bn.num_batches_tracked</c>.
/// </summary>
public sealed class ConvolutionBlock : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "conv")]
    private readonly Conv2d _conv;

    [ComponentName(Name = "bn")]
    private readonly BatchNorm2d? _bn;

    private readonly long _stride;
    private readonly long _padding;

    /// <summary>Creates the block.</summary>
    public ConvolutionBlock(long inChannels, long outChannels, long kernelSize, long stride, long padding, BnInceptionOptions options)
        : base(TorchRuntime.ModuleName(nameof(ConvolutionBlock)))
    {
        ArgumentNullException.ThrowIfNull(options);
        Activation = options.Activation;
        _stride = stride;
        _padding = padding;
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

    /// <summary>
    /// The element type the convolution computes in when it differs from its weights' (bfloat16 in
    /// mixed-precision training, set by <see cref="BnInception.UseBFloat16Compute"/>); null computes
    /// in the weights' own type.
    /// </summary>
    internal ScalarType? ComputeType { get; set; }

    // Copies of the convolution's weight and bias in the compute type that an optimizer keeps
    // current (Training.FlatSgd, mixed precision); null casts per call. Not a Tensor field, so no
    // module registration ever takes them for parameters or buffers.
    private (Tensor Weight, Tensor? Bias)? _computeCopies;

    /// <summary>
    /// Has the convolution compute with <paramref name="weight"/> and <paramref name="bias"/>, leaf
    /// copies of its weight and bias in <see cref="ComputeType"/> that their owner keeps current,
    /// instead of casting them per call (null weight: cast per call again). The copies' gradients
    /// are the owner's to move to the float32 parameters.
    /// </summary>
    /// <exception cref="ArgumentException">The copies do not match the parameters' shapes and <see cref="ComputeType"/>.</exception>
    internal void UseComputeCopies(Tensor? weight, Tensor? bias)
    {
        if (weight is null)
        {
            _computeCopies = null;
            return;
        }

        CheckComputeCopy(weight, _conv.weight, "weight");
        if (_conv.bias is { } ownBias)
        {
            CheckComputeCopy(bias ?? throw new ArgumentException("The convolution has a bias, so its copy needs one.", nameof(bias)), ownBias, "bias");
        }

        _computeCopies = (weight, _conv.bias is null ? null : bias);
    }

    private void CheckComputeCopy(Tensor copy, Tensor parameter, string what)
    {
        if (copy.dtype != ComputeType || !copy.shape.SequenceEqual(parameter.shape) || !copy.stride().SequenceEqual(parameter.stride()))
        {
            throw new ArgumentException(
                $"The {what} copy [{string.Join(", ", copy.shape)}] {copy.dtype} does not match the parameter [{string.Join(", ", parameter.shape)}] " +
                $"with its strides, in the compute type {ComputeType?.ToString() ?? "(none)"}.");
        }
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        Tensor convolved = ComputeType is { } computeType
            ? Convolve(input, computeType)
            : BFloat16Convolutions.Convolve(input, _conv.weight, _conv.bias, _stride, _padding);
        if (_bn is null)
        {
            return ActivateInPlace(convolved);
        }

        // The convolution's output is released at once (autograd keeps it if BN's backward needs it).
        using (convolved)
        {
            return ActivateInPlace(BatchNormForward.Apply(_bn, convolved));
        }
    }

    // With copies (training), they are the weights: casts of the float32 values made once per step,
    // whose gradients the optimizer moves to float32. Without, the float32 weights are cast for this
    // call only and autograd casts their gradient back, so it accumulates in float32: the same
    // bits (docs/engine.md, "Mixed-precision training"). BN then takes the bfloat16 output with its
    // float32 γ, β and running statistics: libtorch computes the batch statistics in float32 and
    // returns bfloat16.
    private Tensor Convolve(Tensor input, ScalarType computeType)
    {
        if (_computeCopies is { } copies)
        {
            return BFloat16Convolutions.Convolve(input, copies.Weight, copies.Bias, _stride, _padding);
        }

        using Tensor weight = _conv.weight.to(computeType);
        using Tensor? bias = _conv.bias?.to(computeType);
        return BFloat16Convolutions.Convolve(input, weight, bias, _stride, _padding);
    }

    // In place, on a tensor only this block holds: one activation-sized allocation and pass over
    // memory fewer per block. Autograd allows it (ReLU's and the sigmoid's backward use their
    // output, and BN's backward its input) and would refuse it otherwise.
    private Tensor ActivateInPlace(Tensor x) => Activation == Activation.Relu ? x.relu_() : x.sigmoid_();
}
