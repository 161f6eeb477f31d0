namespace MLNet.BNInception.Torch.Modules;

/// <summary>Runs its children in order; they are named "0", "1", … as in PyTorch unless named explicitly.</summary>
public sealed class Sequential : Module
{
    private readonly List<Module> _layers = [];

    /// <summary>Creates the sequence from <paramref name="layers"/>, named by position.</summary>
    public Sequential(params Module[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        foreach (Module layer in layers)
        {
            append(layer);
        }
    }

    /// <summary>Number of layers.</summary>
    public int Count => _layers.Count;

    /// <summary>The layer at <paramref name="index"/>.</summary>
    public Module this[int index] => _layers[index];

    /// <summary>Adds a layer at the end, named by its position.</summary>
    public Sequential append(Module layer) => append(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer);

    /// <summary>Adds a layer at the end under <paramref name="name"/>.</summary>
    public Sequential append(string name, Module layer)
    {
        _layers.Add(register_module(name, layer));
        return this;
    }

    /// <summary>Feeds the input through every layer; intermediate outputs are disposed as soon as they are used.</summary>
    public override Tensor forward(Tensor input)
    {
        Tensor current = input;
        foreach (Module layer in _layers)
        {
            Tensor next = layer.call(current);
            if (!ReferenceEquals(current, input))
            {
                current.Dispose();
            }

            current = next;
        }

        return ReferenceEquals(current, input) ? input.alias() : current;
    }
}
