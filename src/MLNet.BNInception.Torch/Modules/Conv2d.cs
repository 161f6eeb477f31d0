namespace MLNet.BNInception.Torch.Modules;

/// <summary>2-D convolution layer with PyTorch's parameters (<c>weight</c> O×(I/groups)×kH×kW, optional <c>bias</c>).</summary>
public sealed class Conv2d : Module
{
    private readonly long[] _stride;
    private readonly long[] _padding;
    private readonly long[] _dilation;
    private readonly long _groups;

    /// <summary>
    /// Creates the layer, initialised as PyTorch does by default: weight and bias uniform in
    /// ±1/√fan_in (kaiming_uniform with a=√5). Models reinitialise in one place of their own.
    /// </summary>
    /// <param name="in_channels">Input channels.</param>
    /// <param name="out_channels">Output channels.</param>
    /// <param name="kernel_size">Square kernel side.</param>
    /// <param name="stride">Step, default 1.</param>
    /// <param name="padding">Zero padding on each side, default 0.</param>
    /// <param name="dilation">Kernel dilation, default 1.</param>
    /// <param name="groups">Channel groups, default 1.</param>
    /// <param name="bias">Whether to learn an additive bias; default true (BN layers follow a conv without one).</param>
    public Conv2d(long in_channels, long out_channels, long kernel_size, long stride = 1, long padding = 0, long dilation = 1,
        long groups = 1, bool bias = true)
    {
        if (in_channels % groups != 0 || out_channels % groups != 0)
        {
            throw new ArgumentException($"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by groups ({groups}).");
        }

        InChannels = in_channels;
        OutChannels = out_channels;
        KernelSize = kernel_size;
        _stride = [stride, stride];
        _padding = [padding, padding];
        _dilation = [dilation, dilation];
        _groups = groups;

        long fanIn = in_channels / groups * kernel_size * kernel_size;
        double bound = 1.0 / Math.Sqrt(fanIn);
        using DisposeScope scope = torch.NewDisposeScope();
        weight = register_parameter(nameof(weight), torch.zeros([out_channels, in_channels / groups, kernel_size, kernel_size]).uniform_(-bound, bound));
        this.bias = bias ? register_parameter(nameof(bias), torch.zeros([out_channels]).uniform_(-bound, bound)) : null;
    }

    /// <summary>Input channels.</summary>
    public long InChannels { get; }

    /// <summary>Output channels.</summary>
    public long OutChannels { get; }

    /// <summary>Square kernel side.</summary>
    public long KernelSize { get; }

    /// <summary>Step between kernel positions.</summary>
    public long Stride => _stride[0];

    /// <summary>Zero padding on each side.</summary>
    public long Padding => _padding[0];

    /// <summary>The kernel, O×(I/groups)×kH×kW.</summary>
    public Tensor weight { get; }

    /// <summary>The additive bias (O values), or null.</summary>
    public Tensor? bias { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) =>
        torch.nn.functional.conv2d(input, weight, bias, _stride, _padding, _dilation, _groups);
}
