using MLNet.BNInception.Torch;
using MLNet.BNInception.Torch.Modules;
using F = MLNet.BNInception.Torch.torch.nn.functional;

namespace MLNet.BNInception.Demo;

/// <summary>
/// A small conv → BN → ReLU network for 28×28 grayscale images, exercising every piece of the
/// binding that BN-Inception is built from (convolution without bias before BN, pooling, linear head).
/// </summary>
internal sealed class SmallBnNet : Module
{
    private readonly Sequential _features;
    private readonly Linear _classifier;

    public SmallBnNet(int classes)
    {
        _features = register_module("features", new Sequential(
            new Conv2d(1, 32, 3, padding: 1, bias: false), new BatchNorm2d(32), new ReLU(),    // N x 32 x 28 x 28
            new Conv2d(32, 64, 3, stride: 2, padding: 1, bias: false), new BatchNorm2d(64), new ReLU(), // N x 64 x 14 x 14
            new Conv2d(64, 128, 3, stride: 2, padding: 1, bias: false), new BatchNorm2d(128), new ReLU())); // N x 128 x 7 x 7
        _classifier = register_module("classifier", new Linear(128, classes));
    }

    public override Tensor forward(Tensor input)
    {
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor pooled = F.adaptive_avg_pool2d(_features.call(input), [1]).flatten(1); // N x 128
        return _classifier.call(pooled).MoveToOuterDisposeScope();
    }
}
