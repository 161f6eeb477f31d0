namespace MLNet.BNInception.Torch.Modules;

/// <summary>
/// A layer or a composition of layers, as PyTorch's <c>torch.nn.Module</c>: named parameters,
/// buffers and children in registration order, train/eval mode, and state dicts whose keys follow
/// PyTorch's convention (<c>features.0.weight</c>, <c>bn.running_mean</c>, …) so weights move
/// between the two. A module owns its tensors and disposes them with itself.
/// </summary>
public abstract class Module : IDisposable
{
    private readonly List<KeyValuePair<string, Tensor>> _parameters = [];
    private readonly List<KeyValuePair<string, Tensor>> _buffers = [];
    private readonly List<KeyValuePair<string, Module>> _children = [];
    private bool _disposed;

    /// <summary>True in training mode (the default), false after <see cref="eval"/>.</summary>
    public bool training { get; private set; } = true;

    /// <summary>Computes the module's output.</summary>
    public abstract Tensor forward(Tensor input);

    /// <summary>Same as <see cref="forward"/>; reads like PyTorch's <c>module(x)</c>.</summary>
    public Tensor call(Tensor input)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return forward(input);
    }

    /// <summary>Sets training mode on this module and every descendant.</summary>
    public Module train(bool mode = true)
    {
        training = mode;
        foreach (KeyValuePair<string, Module> child in _children)
        {
            child.Value.train(mode);
        }

        return this;
    }

    /// <summary>Sets eval mode (BN uses running statistics, dropout is off) on this module and every descendant.</summary>
    public Module eval() => train(false);

    /// <summary>Parameters of this module and its descendants, with dotted names, in registration order.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> named_parameters() => Collect(module => module._parameters);

    /// <summary>Buffers (running statistics and counters) with dotted names, in registration order.</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> named_buffers() => Collect(module => module._buffers);

    /// <summary>Parameters of this module and its descendants.</summary>
    public IEnumerable<Tensor> parameters() => named_parameters().Select(pair => pair.Value);

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<KeyValuePair<string, Module>> named_children() => _children;

    /// <summary>This module (with the empty name) and every descendant, depth first, with dotted names.</summary>
    public IEnumerable<KeyValuePair<string, Module>> named_modules(string prefix = "")
    {
        yield return new(prefix, this);
        foreach (KeyValuePair<string, Module> child in _children)
        {
            foreach (KeyValuePair<string, Module> descendant in child.Value.named_modules(Join(prefix, child.Key)))
            {
                yield return descendant;
            }
        }
    }

    /// <summary>
    /// Parameters and buffers by name, in PyTorch's order (per module: parameters, then buffers, then
    /// children). The tensors are the module's own: read or save them, do not dispose them.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, Tensor>> state_dict()
    {
        var entries = new List<KeyValuePair<string, Tensor>>();
        foreach (KeyValuePair<string, Module> named in named_modules())
        {
            entries.AddRange(named.Value._parameters.Select(p => new KeyValuePair<string, Tensor>(Join(named.Key, p.Key), p.Value)));
            entries.AddRange(named.Value._buffers.Select(b => new KeyValuePair<string, Tensor>(Join(named.Key, b.Key), b.Value)));
        }

        return entries;
    }

    /// <summary>
    /// Copies values into this module's parameters and buffers. Shapes must match. With
    /// <paramref name="strict"/>, a missing or unexpected key is an error listing every one.
    /// </summary>
    public void load_state_dict(IEnumerable<KeyValuePair<string, Tensor>> stateDict, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var own = state_dict().ToDictionary(pair => pair.Key, pair => pair.Value);
        var given = new Dictionary<string, Tensor>();
        foreach (KeyValuePair<string, Tensor> pair in stateDict)
        {
            given[pair.Key] = pair.Value;
        }

        if (strict)
        {
            string[] missing = own.Keys.Where(key => !given.ContainsKey(key)).ToArray();
            string[] unexpected = given.Keys.Where(key => !own.ContainsKey(key)).ToArray();
            if (missing.Length > 0 || unexpected.Length > 0)
            {
                throw new ArgumentException(
                    $"The state dict does not match the module. Missing keys: [{string.Join(", ", missing)}]; " +
                    $"unexpected keys: [{string.Join(", ", unexpected)}].", nameof(stateDict));
            }
        }

        // Every shape is checked before anything is copied, so a mismatch leaves the module unchanged.
        foreach ((string key, Tensor value) in given)
        {
            if (own.TryGetValue(key, out Tensor? target) && !target.shape.SequenceEqual(value.shape))
            {
                throw new ArgumentException(
                    $"'{key}' has shape [{string.Join(", ", value.shape)}] in the state dict but [{string.Join(", ", target.shape)}] in the module.",
                    nameof(stateDict));
            }
        }

        using (torch.no_grad())
        {
            foreach ((string key, Tensor value) in given)
            {
                if (own.TryGetValue(key, out Tensor? target))
                {
                    target.copy_(value);
                }
            }
        }
    }

    /// <summary>Drops the gradients of every parameter.</summary>
    public void zero_grad()
    {
        foreach (Tensor parameter in parameters())
        {
            parameter.clear_grad();
        }
    }

    /// <summary>Registers a learnable tensor; the module takes ownership and turns on requires_grad.</summary>
    protected Tensor register_parameter(string name, Tensor parameter)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        CheckName(name);
        parameter.DetachFromDisposeScope();
        parameter.requires_grad = true;
        _parameters.Add(new(name, parameter));
        return parameter;
    }

    /// <summary>Registers a state tensor that is saved but not learned (running statistics, counters).</summary>
    protected Tensor register_buffer(string name, Tensor buffer)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        CheckName(name);
        buffer.DetachFromDisposeScope();
        _buffers.Add(new(name, buffer));
        return buffer;
    }

    /// <summary>Registers a child module; its tensors' names get <paramref name="name"/> as prefix.</summary>
    protected T register_module<T>(string name, T module)
        where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        CheckName(name);
        _children.Add(new(name, module));
        return module;
    }

    /// <summary>Disposes every parameter, buffer and child.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases the module's tensors and children.</summary>
    protected virtual void Dispose(bool disposing)
    {
        if (_disposed || !disposing)
        {
            return;
        }

        _disposed = true;
        foreach (KeyValuePair<string, Tensor> pair in _parameters.Concat(_buffers))
        {
            pair.Value.Dispose();
        }

        foreach (KeyValuePair<string, Module> child in _children)
        {
            child.Value.Dispose();
        }
    }

    private IEnumerable<KeyValuePair<string, Tensor>> Collect(Func<Module, List<KeyValuePair<string, Tensor>>> select) =>
        named_modules().SelectMany(named => select(named.Value).Select(pair => new KeyValuePair<string, Tensor>(Join(named.Key, pair.Key), pair.Value)));

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{name}' is not a valid name: it must be non-empty and contain no '.'.", nameof(name));
        }

        if (_parameters.Any(p => p.Key == name) || _buffers.Any(b => b.Key == name) || _children.Any(c => c.Key == name))
        {
            throw new ArgumentException($"'{name}' is already registered on {GetType().Name}.", nameof(name));
        }
    }

    private static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;
}
