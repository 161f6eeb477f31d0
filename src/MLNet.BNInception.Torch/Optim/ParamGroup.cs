namespace MLNet.BNInception.Torch.Optim;

/// <summary>
/// Parameters that share SGD hyperparameters, as a PyTorch param group. A group's settings left
/// null take the optimizer's defaults. Typical use: weight decay on conv and linear weights only.
/// </summary>
/// <param name="parameters">The tensors this group updates.</param>
public sealed class ParamGroup(IEnumerable<Tensor> parameters)
{
    /// <summary>The tensors this group updates.</summary>
    public IReadOnlyList<Tensor> Parameters { get; } = parameters.ToArray();

    /// <summary>Learning rate; schedules change it between steps.</summary>
    public double? LearningRate { get; set; }

    /// <summary>Momentum factor.</summary>
    public double? Momentum { get; set; }

    /// <summary>Dampening of the momentum.</summary>
    public double? Dampening { get; set; }

    /// <summary>L2 penalty added to the gradient: grad + weight_decay·param.</summary>
    public double? WeightDecay { get; set; }

    /// <summary>Whether to use Nesterov momentum.</summary>
    public bool? Nesterov { get; set; }
}
