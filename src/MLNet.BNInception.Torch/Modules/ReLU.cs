namespace MLNet.BNInception.Torch.Modules;

/// <summary>max(x, 0) as a layer.</summary>
public sealed class ReLU : Module
{
    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => input.relu();
}
