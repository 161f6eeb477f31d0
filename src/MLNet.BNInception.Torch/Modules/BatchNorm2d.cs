namespace MLNet.BNInception.Torch.Modules;

/// <summary>
/// Batch normalization over the channels of N×C×H×W input (Ioffe and Szegedy, 2015), with
/// PyTorch's parameters and buffers: <c>weight</c> (γ), <c>bias</c> (β), <c>running_mean</c>,
/// <c>running_var</c>, <c>num_batches_tracked</c>.
/// </summary>
public sealed class BatchNorm2d : Module
{
    /// <summary>Creates the layer with γ = 1, β = 0, running mean 0 and running variance 1.</summary>
    /// <param name="num_features">Channels C.</param>
    /// <param name="eps">Added to the variance before the square root; default 1e-5.</param>
    /// <param name="momentum">
    /// Weight of the new batch in the running statistics, default 0.1; null uses the cumulative
    /// average over all batches seen (the paper's population statistics).
    /// </param>
    /// <param name="affine">Whether γ and β are learned; default true.</param>
    /// <param name="track_running_stats">Whether running statistics are kept; default true.</param>
    public BatchNorm2d(long num_features, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool track_running_stats = true)
    {
        NumFeatures = num_features;
        Eps = eps;
        Momentum = momentum;
        using DisposeScope scope = torch.NewDisposeScope();
        if (affine)
        {
            weight = register_parameter(nameof(weight), torch.ones([num_features]));
            bias = register_parameter(nameof(bias), torch.zeros([num_features]));
        }

        if (track_running_stats)
        {
            running_mean = register_buffer(nameof(running_mean), torch.zeros([num_features]));
            running_var = register_buffer(nameof(running_var), torch.ones([num_features]));
            num_batches_tracked = register_buffer(nameof(num_batches_tracked), torch.zeros([], ScalarType.Int64));
        }
    }

    /// <summary>Channels C.</summary>
    public long NumFeatures { get; }

    /// <summary>Added to the variance before the square root.</summary>
    public double Eps { get; }

    /// <summary>Weight of the new batch in the running statistics; null for the cumulative average.</summary>
    public double? Momentum { get; }

    /// <summary>γ, one per channel, or null when not affine.</summary>
    public Tensor? weight { get; }

    /// <summary>β, one per channel, or null when not affine.</summary>
    public Tensor? bias { get; }

    /// <summary>Running mean per channel, or null when not tracked.</summary>
    public Tensor? running_mean { get; }

    /// <summary>Running (unbiased) variance per channel, or null when not tracked.</summary>
    public Tensor? running_var { get; }

    /// <summary>Training batches seen, an int64 scalar, or null when not tracked.</summary>
    public Tensor? num_batches_tracked { get; }

    /// <inheritdoc/>
    public override Tensor forward(Tensor input)
    {
        if (input.ndim != 4)
        {
            throw new ArgumentException($"BatchNorm2d expects N×C×H×W input, got [{string.Join(", ", input.shape)}].", nameof(input));
        }

        bool useBatchStatistics = training || running_mean is null;
        if (useBatchStatistics)
        {
            long[] shape = input.shape;
            if (shape[0] * shape[2] * shape[3] <= 1)
            {
                throw new ArgumentException(
                    $"BatchNorm2d needs more than one value per channel in training, got input [{string.Join(", ", shape)}]; " +
                    "use a batch of at least 2 or call eval().", nameof(input));
            }
        }

        double momentum = Momentum ?? 0.0;
        if (training && num_batches_tracked is not null)
        {
            using (torch.no_grad())
            {
                num_batches_tracked.add_(1);
            }

            if (Momentum is null)
            {
                momentum = 1.0 / num_batches_tracked.item<long>();
            }
        }

        return torch.nn.functional.batch_norm(input, running_mean, running_var, weight, bias,
            useBatchStatistics, momentum, Eps);
    }
}
