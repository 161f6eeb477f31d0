namespace MLNet.BNInception.Torch.Modules;

/// <summary>Fully connected layer y = x·Wᵀ + b with PyTorch's parameters (<c>weight</c> out×in, <c>bias</c>).</summary>
public sealed class Linear : Module
{
    /// <summary>Creates the layer, initialised as PyTorch does by default: uniform in ±1/√in_features.</summary>
    /// <param name="in_features">Input features.</param>
    /// <param name="out_features">Output features.</param>
    /// <param name="bias">Whether to learn an additive bias; default true.</param>
    public Linear(long in_features, long out_features, bool bias = true)
    {
        InFeatures = in_features;
        OutFeatures = out_features;
        double bound = 1.0 / Math.Sqrt(in_features);
        using DisposeScope scope = torch.NewDisposeScope();
        weight = register_parameter(nameof(weight), torch.zeros([out_features, in_features]).uniform_(-bound, bound));
        this.bias = bias ? register_parameter(nameof(bias), torch.zeros([out_features]).uniform_(-bound, bound)) : null;
    }

    /// <summary>Input features.</summary>
    public long InFeatures { get; }

    /// <summary>Output features.</summary>
    public long OutFeatures { get; }

    /// <summary>The weight matrix, out×in.</summary>
    public Tensor weight { get; }

    /// <summary>The bias (out values), or null.</summary>
    public Tensor? bias { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => torch.nn.functional.linear(input, weight, bias);
}
