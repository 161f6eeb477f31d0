using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Training;

/// <summary>Checks on label tensors of class indices.</summary>
internal static class ClassIndices
{
    /// <summary>The position of the first label outside 0..<paramref name="numClasses"/>-1, or -1 when all are inside.</summary>
    public static long FirstOutOfRange(Tensor labels, int numClasses)
    {
        using DisposeScope scope = NewDisposeScope();
        // Scalars held to the end, not made implicitly from the numbers (see SgdStep for why).
        using Scalar zero = 0.ToScalar(), classes = numClasses.ToScalar();
        Tensor bad = labels.lt(zero).logical_or(labels.ge(classes)).nonzero();
        return bad.size(0) > 0 ? bad[0, 0].item<long>() : -1;
    }

    /// <summary>The label at <paramref name="position"/>, for an error message.</summary>
    public static long At(Tensor labels, long position)
    {
        // The element's tensor is disposed after item() reads it: one left to the finalizer could
        // be freed during that read (docs/engine.md, "Tensors that stay alive").
        using Tensor label = labels[position];
        return label.item<long>();
    }
}
