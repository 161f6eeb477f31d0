using System.Globalization;

namespace MLNet.BNInception.Torch.Optim;

/// <summary>
/// Stochastic gradient descent with momentum, Nesterov momentum and weight decay, computing exactly
/// what PyTorch 1.13's <c>torch.optim.SGD</c> computes:
/// g = grad + wd·p; b = g on the first step, else μ·b + (1-dampening)·g;
/// d = g + μ·b with Nesterov, else b; p = p - lr·d.
/// Parameters without a gradient are skipped.
/// </summary>
public sealed class SGD : IDisposable
{
    private const string StatePrefix = "state.";
    private const string GroupPrefix = "param_groups.";

    private readonly List<ParamGroup> _groups;
    private readonly Dictionary<Tensor, Tensor> _momentumBuffers = new(ReferenceEqualityComparer.Instance);

    /// <summary>Creates the optimizer over one group of parameters.</summary>
    public SGD(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0, double weight_decay = 0,
        bool nesterov = false)
        : this([new ParamGroup(parameters)], lr, momentum, dampening, weight_decay, nesterov)
    {
    }

    /// <summary>Creates the optimizer over parameter groups; settings a group leaves null take these defaults.</summary>
    /// <param name="groups">The parameter groups.</param>
    /// <param name="lr">Learning rate.</param>
    /// <param name="momentum">Momentum factor; default 0.</param>
    /// <param name="dampening">Dampening of the momentum; default 0.</param>
    /// <param name="weight_decay">L2 penalty; default 0.</param>
    /// <param name="nesterov">Nesterov momentum; default false (needs momentum &gt; 0 and dampening 0).</param>
    public SGD(IEnumerable<ParamGroup> groups, double lr, double momentum = 0, double dampening = 0, double weight_decay = 0,
        bool nesterov = false)
    {
        ArgumentNullException.ThrowIfNull(groups);
        _groups = groups.ToList();
        foreach (ParamGroup group in _groups)
        {
            group.LearningRate ??= lr;
            group.Momentum ??= momentum;
            group.Dampening ??= dampening;
            group.WeightDecay ??= weight_decay;
            group.Nesterov ??= nesterov;
            Validate(group);
        }

        var seen = new HashSet<Tensor>(ReferenceEqualityComparer.Instance);
        if (_groups.SelectMany(group => group.Parameters).Any(parameter => !seen.Add(parameter)))
        {
            throw new ArgumentException("A parameter appears in more than one place; each must be in exactly one group.", nameof(groups));
        }
    }

    /// <summary>The parameter groups, in order; their settings may be changed between steps.</summary>
    public IReadOnlyList<ParamGroup> param_groups => _groups;

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    public void step()
    {
        using IDisposable noGrad = torch.no_grad();
        foreach (ParamGroup group in _groups)
        {
            double lr = group.LearningRate!.Value, mu = group.Momentum!.Value, dampening = group.Dampening!.Value;
            double weightDecay = group.WeightDecay!.Value;
            foreach (Tensor parameter in group.Parameters)
            {
                // One scope per parameter keeps the temporaries of a large model from piling up.
                using DisposeScope scope = torch.NewDisposeScope();
                Tensor? grad = parameter.grad;
                if (grad is null)
                {
                    continue;
                }

                Tensor direction = weightDecay != 0 ? grad + weightDecay * parameter : grad;
                if (mu != 0)
                {
                    if (_momentumBuffers.TryGetValue(parameter, out Tensor? buffer))
                    {
                        buffer.mul_(mu).add_(direction, 1 - dampening);
                    }
                    else
                    {
                        buffer = direction.clone().DetachFromDisposeScope();
                        _momentumBuffers[parameter] = buffer;
                    }

                    direction = group.Nesterov!.Value ? direction + mu * buffer : buffer;
                }

                parameter.add_(direction, -lr);
            }
        }
    }

    /// <summary>Drops the gradient of every parameter.</summary>
    public void zero_grad()
    {
        foreach (Tensor parameter in _groups.SelectMany(group => group.Parameters))
        {
            parameter.clear_grad();
        }
    }

    /// <summary>
    /// The optimizer's state as named tensors, saveable with <c>torch.save</c>: momentum buffers as
    /// <c>state.{i}.momentum_buffer</c> (i counts parameters across groups, as PyTorch does) and
    /// every group's settings as <c>param_groups.{g}.lr</c> and so on. The caller disposes the tensors.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> state_dict()
    {
        var entries = new List<KeyValuePair<string, Tensor>>();
        int index = 0;
        foreach (Tensor parameter in _groups.SelectMany(group => group.Parameters))
        {
            if (_momentumBuffers.TryGetValue(parameter, out Tensor? buffer))
            {
                entries.Add(new($"{StatePrefix}{index}.momentum_buffer", buffer.clone().DetachFromDisposeScope()));
            }

            index++;
        }

        for (int g = 0; g < _groups.Count; g++)
        {
            ParamGroup group = _groups[g];
            foreach ((string name, double value) in GroupSettings(group))
            {
                entries.Add(new($"{GroupPrefix}{g}.{name}", torch.scalar_tensor(value).DetachFromDisposeScope()));
            }
        }

        return entries;
    }

    /// <summary>Restores a state from <see cref="state_dict"/> taken from an optimizer over the same parameter shapes.</summary>
    public void load_state_dict(IEnumerable<KeyValuePair<string, Tensor>> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        Tensor[] parameters = _groups.SelectMany(group => group.Parameters).ToArray();
        var buffers = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);
        var settings = new Dictionary<string, double>();
        foreach ((string key, Tensor value) in stateDict)
        {
            if (key.StartsWith(StatePrefix, StringComparison.Ordinal) && key.EndsWith(".momentum_buffer", StringComparison.Ordinal))
            {
                string number = key[StatePrefix.Length..^".momentum_buffer".Length];
                if (!int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index >= parameters.Length)
                {
                    throw new ArgumentException($"'{key}' names no parameter of this optimizer ({parameters.Length} parameters).", nameof(stateDict));
                }

                if (!parameters[index].shape.SequenceEqual(value.shape))
                {
                    throw new ArgumentException(
                        $"'{key}' has shape [{string.Join(", ", value.shape)}] but parameter {index} has [{string.Join(", ", parameters[index].shape)}].",
                        nameof(stateDict));
                }

                buffers[parameters[index]] = value;
            }
            else if (key.StartsWith(GroupPrefix, StringComparison.Ordinal))
            {
                settings[key[GroupPrefix.Length..]] = value.item<double>();
            }
            else
            {
                throw new ArgumentException($"'{key}' is not an SGD state entry.", nameof(stateDict));
            }
        }

        for (int g = 0; g < _groups.Count; g++)
        {
            foreach ((string name, _) in GroupSettings(_groups[g]))
            {
                if (!settings.ContainsKey($"{g}.{name}"))
                {
                    throw new ArgumentException($"The state has no '{GroupPrefix}{g}.{name}': it was saved from another optimizer layout.", nameof(stateDict));
                }
            }
        }

        for (int g = 0; g < _groups.Count; g++)
        {
            ParamGroup group = _groups[g];
            group.LearningRate = settings[$"{g}.lr"];
            group.Momentum = settings[$"{g}.momentum"];
            group.Dampening = settings[$"{g}.dampening"];
            group.WeightDecay = settings[$"{g}.weight_decay"];
            group.Nesterov = settings[$"{g}.nesterov"] != 0;
        }

        DisposeBuffers();
        foreach ((Tensor parameter, Tensor value) in buffers)
        {
            _momentumBuffers[parameter] = value.detach().clone().DetachFromDisposeScope();
        }
    }

    /// <summary>Frees the momentum buffers.</summary>
    public void Dispose() => DisposeBuffers();

    private void DisposeBuffers()
    {
        foreach (Tensor buffer in _momentumBuffers.Values)
        {
            buffer.Dispose();
        }

        _momentumBuffers.Clear();
    }

    private static IEnumerable<(string Name, double Value)> GroupSettings(ParamGroup group)
    {
        yield return ("lr", group.LearningRate!.Value);
        yield return ("momentum", group.Momentum!.Value);
        yield return ("dampening", group.Dampening!.Value);
        yield return ("weight_decay", group.WeightDecay!.Value);
        yield return ("nesterov", group.Nesterov!.Value ? 1 : 0);
    }

    private static void Validate(ParamGroup group)
    {
        if (group.LearningRate < 0) throw new ArgumentOutOfRangeException(nameof(group), group.LearningRate, "learning rate must not be negative");
        if (group.Momentum < 0) throw new ArgumentOutOfRangeException(nameof(group), group.Momentum, "momentum must not be negative");
        if (group.WeightDecay < 0) throw new ArgumentOutOfRangeException(nameof(group), group.WeightDecay, "weight decay must not be negative");
        if (group.Nesterov == true && (group.Momentum <= 0 || group.Dampening != 0))
        {
            throw new ArgumentException("Nesterov momentum needs momentum > 0 and dampening 0.", nameof(group));
        }
    }
}
