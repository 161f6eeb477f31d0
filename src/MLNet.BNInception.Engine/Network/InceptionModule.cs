using TorchSharp.Utils;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.BNInception.Engine.Network;

/// <summary>
/// An inception module of BN-Inception (paper, Figure 5): a 1×1 branch, a 3×3 branch after a 1×1
/// reduction, a double 3×3 branch (two stacked 3×3 convolutions in place of GoogLeNet's 5×5) after a
/// 1×1 reduction, and a pooling branch; their outputs concatenated along channels in that order.
/// Field names are the PyTorch state-dict keys.
/// </summary>
public sealed class InceptionModule : nn.Module<Tensor, Tensor>
{
    [ComponentName(Name = "branch1x1")]
    private readonly ConvolutionBlock? _branch1x1;

    [ComponentName(Name = "branch3x3_reduce")]
    private readonly ConvolutionBlock _branch3x3Reduce;

    [ComponentName(Name = "branch3x3")]
    private readonly ConvolutionBlock _branch3x3;

    [ComponentName(Name = "double3x3_reduce")]
    private readonly ConvolutionBlock _double3x3Reduce;

    [ComponentName(Name = "double3x3_1")]
    private readonly ConvolutionBlock _double3x3First;

    [ComponentName(Name = "double3x3_2")]
    private readonly ConvolutionBlock _double3x3Second;

    [ComponentName(Name = "pool_proj")]
    private readonly ConvolutionBlock? _poolProjection;

    /// <summary>Creates the module from one row of the table.</summary>
    public InceptionModule(InceptionSpec spec, BnInceptionOptions options)
        : base(TorchRuntime.ModuleName(nameof(InceptionModule)))
    {
        ArgumentNullException.ThrowIfNull(spec);
        Spec = spec;
        int stride = spec.Reduces ? 2 : 1;
        if (spec.Out1x1 > 0)
        {
            _branch1x1 = new ConvolutionBlock(spec.InChannels, spec.Out1x1, 1, 1, 0, options);
        }

        _branch3x3Reduce = new ConvolutionBlock(spec.InChannels, spec.Reduce3x3, 1, 1, 0, options);
        _branch3x3 = new ConvolutionBlock(spec.Reduce3x3, spec.Out3x3, 3, stride, 1, options);
        _double3x3Reduce = new ConvolutionBlock(spec.InChannels, spec.ReduceDouble3x3, 1, 1, 0, options);
        _double3x3First = new ConvolutionBlock(spec.ReduceDouble3x3, spec.OutDouble3x3, 3, 1, 1, options);
        _double3x3Second = new ConvolutionBlock(spec.OutDouble3x3, spec.OutDouble3x3, 3, stride, 1, options);
        if (spec.PoolProjection > 0)
        {
            _poolProjection = new ConvolutionBlock(spec.InChannels, spec.PoolProjection, 1, 1, 0, options);
        }

        RegisterComponents();
    }

    /// <summary>The table row this module was built from.</summary>
    public InceptionSpec Spec { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        using DisposeScope scope = NewDisposeScope();
        var branches = new List<Tensor>(4);
        if (_branch1x1 is not null)
        {
            branches.Add(_branch1x1.call(input));
        }

        branches.Add(_branch3x3.call(_branch3x3Reduce.call(input)));
        branches.Add(_double3x3Second.call(_double3x3First.call(_double3x3Reduce.call(input))));
        branches.Add(Spec.Pool switch
        {
            // Stride-1 pools pad by 1 and, for averages, count the padding (docs/paper.md §2).
            InceptionPool.Average => _poolProjection!.call(F.avg_pool2d(input, [3], stride: [1], padding: [1], count_include_pad: true)),
            InceptionPool.Max => _poolProjection!.call(F.max_pool2d(input, [3], strides: [1], padding: [1])),
            _ => F.max_pool2d(input, [3], strides: [2], ceil_mode: true),
        });
        return cat(branches, dim: 1).MoveToOuterDisposeScope();
    }
}
