using TorchSharp;
using MLNet.BNInception.Engine.Network;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNet.BNInception.Experiments.Figure1;

/// <summary>
/// The network of the paper's MNIST experiment (docs/paper.md §4): 784 inputs, three fully connected
/// hidden layers of 100 sigmoid units, a 10-way classifier. With batch normalization, each hidden
/// layer normalizes its linear output before the sigmoid (and its linear layer has no bias: BN's β
/// takes its place).
/// </summary>
internal sealed class SigmoidNetwork : nn.Module<Tensor, Tensor>
{
    public const int Hidden = 100;

    private readonly Linear[] _layers;
    private readonly BatchNorm1d[]? _norms;
    private readonly Linear _classifier;

    /// <summary>Builds the network with weights drawn from N(0, <paramref name="initStd"/>²) by a generator seeded with <paramref name="seed"/>; biases 0.</summary>
    public SigmoidNetwork(bool batchNorm, double initStd, long seed)
        : base(batchNorm ? "SigmoidNetworkWithBN" : "SigmoidNetwork")
    {
        _layers = [nn.Linear(784, Hidden, hasBias: !batchNorm), nn.Linear(Hidden, Hidden, hasBias: !batchNorm), nn.Linear(Hidden, Hidden, hasBias: !batchNorm)];
        _norms = batchNorm ? [nn.BatchNorm1d(Hidden), nn.BatchNorm1d(Hidden), nn.BatchNorm1d(Hidden)] : null;
        _classifier = nn.Linear(Hidden, 10);
        for (int i = 0; i < _layers.Length; i++)
        {
            register_module($"hidden{i + 1}", _layers[i]);
            if (_norms is not null)
            {
                register_module($"bn{i + 1}", _norms[i]);
            }
        }

        register_module("classifier", _classifier);

        // The same draws in the same order with and without BN, so both networks start from the
        // same weights.
        using var generator = new Generator((ulong)seed);
        using IDisposable noGrad = no_grad();
        // An in-place call returns a new handle to its tensor: the scope frees those, which a network
        // built outside any scope of its caller's would otherwise leave to the finalizer.
        using DisposeScope scope = NewDisposeScope();
        // TorchSharp's normal(0, std, size) is randn·std + 0 with Scalars it makes implicitly, which
        // a garbage collection can free mid-call (dotnet/TorchSharp#1434): the same with held ones.
        using Scalar std = initStd.ToScalar(), zero = 0.ToScalar(), one = 1.ToScalar();
        foreach (Linear linear in _layers.Append(_classifier))
        {
            using Tensor drawn = randn(linear.weight.shape, generator: generator).mul_(std).add_(zero, one);
            linear.weight.copy_(drawn);
            linear.bias?.zero_();
        }
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => Run(input, out _);

    /// <summary>Logits, and the input of the last hidden layer's sigmoids (N × 100: after BN when the network has it).</summary>
    public Tensor Run(Tensor input, out Tensor lastSigmoidInput)
    {
        Tensor x = input;
        lastSigmoidInput = null!;
        for (int i = 0; i < _layers.Length; i++)
        {
            Tensor preActivation = _layers[i].call(x);
            if (_norms is not null)
            {
                // Not _norms[i].call: TorchSharp's BatchNorm counts batches with an implicit Scalar.
                preActivation = BatchNormForward.Apply(_norms[i], preActivation);
            }

            lastSigmoidInput = preActivation;
            x = preActivation.sigmoid();
        }

        return _classifier.call(x);
    }
}
