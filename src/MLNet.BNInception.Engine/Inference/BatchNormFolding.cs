using MLNet.BNInception.Engine.Network;
using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Inference;

/// <summary>
/// Folds every BN layer into the convolution before it (docs/paper.md §1). In eval mode BN is the affine
/// map y = a·x + b per channel with a = γ/√(var + ε) and b = β − a·μ, so conv-then-BN equals one
/// convolution with weights W·a (per output channel) and bias b. The result is built as the network
/// without BN, one operation shorter per layer, and says that its BN is folded.
/// </summary>
public static class BatchNormFolding
{
    /// <summary>
    /// A new network (float32, contiguous layout, on the CPU), BN folded in
    /// (<see cref="BnInception.BatchNormalization"/> is <see cref="BatchNormalization.FoldedIntoConvolutions"/>),
    /// computing what <paramref name="model"/> computes in eval mode. The model is not changed.
    /// </summary>
    /// <exception cref="ArgumentException">The model has no BN layers: it was trained without BN, or its BN is folded already.</exception>
    public static BnInception Fold(BnInception model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.BatchNormalization != BatchNormalization.Layers)
        {
            throw new ArgumentException($"The model has no batch normalization layers to fold: {model.BatchNormalization.Describe()}.", nameof(model));
        }

        var folded = BnInception.WithFoldedBatchNorm(model.Options);
        try
        {
            Dictionary<string, ConvolutionBlock> targets = folded.Blocks().ToDictionary(block => block.Name, block => block.Block);
            using IDisposable noGrad = no_grad();
            foreach ((string name, ConvolutionBlock block) in model.Blocks())
            {
                FoldBlock(block, targets[name]);
            }

            folded.Classifier.weight.copy_(model.Classifier.weight);
            folded.Classifier.bias!.copy_(model.Classifier.bias!);
            folded.eval();
            return folded;
        }
        catch
        {
            folded.Dispose();
            throw;
        }
    }

    private static void FoldBlock(ConvolutionBlock source, ConvolutionBlock target)
    {
        // Computed in float64 so that folding adds no rounding beyond the final cast to float32.
        using DisposeScope scope = NewDisposeScope();
        BatchNorm2d bn = source.Bn!;
        Tensor gamma = bn.weight.to(ScalarType.Float64);
        Tensor beta = bn.bias!.to(ScalarType.Float64);
        Tensor mean = bn.running_mean!.to(ScalarType.Float64);
        Tensor variance = bn.running_var!.to(ScalarType.Float64);
        // Scalars held to the end rather than made implicitly from ε (see Training.SgdStep for why);
        // add(ε) would make one for its α of 1 too.
        using Scalar epsilon = bn.eps.ToScalar(), one = 1.ToScalar();
        Tensor scale = gamma * variance.add(epsilon, one).rsqrt();
        Tensor weight = source.Conv.weight.to(ScalarType.Float64) * scale.reshape(-1, 1, 1, 1);
        target.Conv.weight.copy_(weight);
        target.Conv.bias!.copy_(beta - (scale * mean));
    }
}
