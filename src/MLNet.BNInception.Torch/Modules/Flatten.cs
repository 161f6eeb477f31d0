namespace MLNet.BNInception.Torch.Modules;

/// <summary>Merges dimensions <see cref="StartDim"/> to <see cref="EndDim"/> (default: all but the batch) into one.</summary>
/// <param name="start_dim">First dimension merged; default 1.</param>
/// <param name="end_dim">Last dimension merged; default -1.</param>
public sealed class Flatten(long start_dim = 1, long end_dim = -1) : Module
{
    /// <summary>First dimension merged.</summary>
    public long StartDim { get; } = start_dim;

    /// <summary>Last dimension merged.</summary>
    public long EndDim { get; } = end_dim;

    /// <inheritdoc/>
    public override Tensor forward(Tensor input) => input.flatten(StartDim, EndDim);
}
