using MLNet.BNInception.Engine.Network;
using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// SGD with momentum over whole parameter groups: each group's parameters live in one
/// <see cref="ParameterBuffer"/>, and a step is a handful of kernels per group over its flat
/// buffers (weight decay, momentum, Nesterov, the update) instead of as many per parameter. The
/// operations and their order are TorchSharp's <c>SGD.step</c> (and so <see cref="SgdStep"/>'s),
/// elementwise, so every element gets the same bits: a flat buffer only changes how many elements
/// one kernel covers (docs/engine.md, "SGD over flat buffers", says why that keeps the bits). Every
/// number is a Scalar held until the step ends (see <see cref="SgdStep"/>).
/// </summary>
/// <remarks>
/// A distributed run (issue 23) reduces each group's <see cref="ParameterBuffer.Gradients"/> in
/// place between the backward pass and <see cref="Step"/>: one collective per group.
/// </remarks>
internal sealed class FlatSgd : IDisposable
{
    private readonly Group[] _groups;

    /// <summary>
    /// The trainer's optimizer for <paramref name="model"/>: two groups with <paramref name="options"/>'
    /// learning rate, momentum and Nesterov, weight decay on the convolution and classifier weights
    /// only (BN's γ and β and all biases are exempt unless DecayBatchNormAndBias is set), and in mixed
    /// precision the bfloat16 copies the network computes with. Build it after the network has its
    /// layout and device: the parameters become views into the optimizer's flat buffers then
    /// (docs/engine.md, "SGD over flat buffers").
    /// </summary>
    public static FlatSgd ForTraining(BnInception model, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        var decayed = new List<Parameter>();
        var exempt = new List<Parameter>();
        foreach ((string name, Parameter parameter) in model.named_parameters())
        {
            bool isWeightOfConvOrLinear = name.EndsWith("conv.weight", StringComparison.Ordinal) || name == "fc.weight";
            (isWeightOfConvOrLinear || options.DecayBatchNormAndBias ? decayed : exempt).Add(parameter);
        }

        // Mixed precision: the layers that compute in bfloat16 use the optimizer's bfloat16 copies of
        // their weights, cast once per step (docs/engine.md, "Mixed-precision training").
        var optimizer = new FlatSgd(
        [
            (decayed, new FlatSgd.Settings(options.LearningRate, options.Momentum, options.WeightDecay, options.Nesterov)),
            (exempt, new FlatSgd.Settings(options.LearningRate, options.Momentum, WeightDecay: 0, options.Nesterov)),
        ], model.ComputesInBFloat16 ? model.ParametersComputedInBFloat16() : null);
        try
        {
            if (model.ComputesInBFloat16)
            {
                model.UseBFloat16Copies(optimizer.BFloat16CopyOf);
            }
        }
        catch
        {
            optimizer.Dispose();
            throw;
        }

        return optimizer;
    }

    /// <summary>
    /// Builds the groups, moving each one's parameters into a flat buffer on their device. Build it
    /// after the network has its final layout and device: the parameters become views then.
    /// </summary>
    /// <param name="groups">The parameter groups and their settings.</param>
    /// <param name="computedInBFloat16">
    /// The parameters a network computes with in bfloat16 (mixed precision): each gets a bfloat16
    /// copy (<see cref="BFloat16CopyOf"/>) kept in step with its float32 values, and gradients that
    /// <see cref="CollectGradients"/> moves into the float32 ones.
    /// </param>
    /// <exception cref="ArgumentException">A parameter is in more than one group, or is not one a <see cref="ParameterBuffer"/> takes.</exception>
    public FlatSgd(IEnumerable<(IReadOnlyList<Parameter> Parameters, Settings Settings)> groups, IEnumerable<Parameter>? computedInBFloat16 = null)
    {
        ArgumentNullException.ThrowIfNull(groups);
        groups = [.. groups];
        Parameter[] inBFloat16 = [.. computedInBFloat16 ?? []];
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        if (!groups.SelectMany(group => group.Parameters).All(seen.Add))
        {
            // A second buffer would rebind it, leaving the first one's view stale.
            throw new ArgumentException("A parameter is in two groups (or twice in one); each belongs to one flat buffer.", nameof(groups));
        }

        var built = new List<Group>();
        try
        {
            foreach ((IReadOnlyList<Parameter> parameters, Settings settings) in groups)
            {
                built.Add(new Group(ParameterBuffer.Gather(parameters, inBFloat16), settings));
            }
        }
        catch
        {
            built.ForEach(group => group.Dispose());
            throw;
        }

        _groups = [.. built];
    }

    /// <summary>
    /// A group's fixed settings; its learning rate is <see cref="Group.LearningRate"/>, set per step.
    /// No dampening and no maximizing: the trainer uses neither, and TorchSharp's SGD, which the
    /// step reproduces, maximizes differently from PyTorch's when there is weight decay (it adds the
    /// decay to the gradient before changing the sign, PyTorch after).
    /// </summary>
    public sealed record Settings(double LearningRate, double Momentum, double WeightDecay, bool Nesterov);

    /// <summary>The groups, in the order given.</summary>
    public IReadOnlyList<Group> Groups => _groups;

    /// <summary>Zeroes every gradient in place before a backward pass (one kernel per group, two with bfloat16 gradients).</summary>
    public void ZeroGradients()
    {
        foreach (Group group in _groups)
        {
            group.Buffer.ZeroGradients();
        }
    }

    /// <summary>
    /// After the backward pass: moves each group's bfloat16 gradients into its float32
    /// <see cref="ParameterBuffer.Gradients"/> (one kernel per group that has any; nothing without
    /// mixed precision). Call it before anything reads or reduces the float32 gradients (a
    /// distributed run's allreduce) and before <see cref="Step"/>, once per <see cref="ZeroGradients"/>:
    /// it adds and leaves the bfloat16 gradients in place, so a second call would add them twice.
    /// </summary>
    public void CollectGradients()
    {
        foreach (Group group in _groups)
        {
            group.Buffer.CollectBFloat16Gradients();
        }
    }

    /// <summary>
    /// One step with the gradients the buffers hold (collected: see <see cref="CollectGradients"/>);
    /// the bfloat16 copies are refreshed from the new values.
    /// </summary>
    public void Step()
    {
        using (no_grad())
        using (DisposeScope scope = NewDisposeScope())
        {
            foreach (Group group in _groups)
            {
                group.Step();
            }
        }

        RefreshBFloat16Copies();
    }

    /// <summary>
    /// Casts every group's float32 values into its bfloat16 copies (one kernel per group that has
    /// any). <see cref="Step"/> does it; call it after anything else writes the parameters (a
    /// checkpoint's or the best weights copied in, a broadcast from another process).
    /// </summary>
    public void RefreshBFloat16Copies()
    {
        foreach (Group group in _groups)
        {
            group.Buffer.RefreshBFloat16Values();
        }
    }

    /// <summary>
    /// The bfloat16 copy of <paramref name="parameter"/> that a network computes with
    /// (<see cref="ParameterBuffer.BFloat16Copy"/>), or null when it has none. Owned by this optimizer.
    /// </summary>
    public Tensor? BFloat16CopyOf(Parameter parameter)
    {
        foreach (Group group in _groups)
        {
            for (int i = 0; i < group.Buffer.Parameters.Count; i++)
            {
                if (ReferenceEquals(group.Buffer.Parameters[i], parameter))
                {
                    return group.Buffer.BFloat16Copy(i);
                }
            }
        }

        return null;
    }

    /// <summary>
    /// Each parameter's momentum buffer, the groups' parameters in turn (a checkpoint's
    /// <c>optimizer.momentum.{i}</c>): views into the flat momentum, with their parameter's shape and
    /// layout, or nulls for a group that has taken no step. The caller disposes the views.
    /// </summary>
    public Tensor?[] MomentumBuffers() =>
        [.. _groups.SelectMany(group => Enumerable.Range(0, group.Buffer.Parameters.Count)
            .Select(i => group.Momentum is { } flat ? group.Buffer.View(flat, i) : null))];

    /// <summary>
    /// Copies saved momentum buffers, keyed by parameter index as <see cref="MomentumBuffers"/>
    /// numbers them, into each group's flat momentum. A group must get all of its parameters'
    /// buffers or none (then it starts its momentum at its next step, as a fresh run does).
    /// </summary>
    /// <exception cref="InvalidDataException">An index, shape or group does not fit this optimizer.</exception>
    public void RestoreMomentum(IEnumerable<KeyValuePair<int, Tensor>> saved)
    {
        ArgumentNullException.ThrowIfNull(saved);
        var byGroup = _groups.Select(_ => new Dictionary<int, Tensor>()).ToArray();
        foreach ((int index, Tensor buffer) in saved)
        {
            (int group, int position) = Locate(index);
            if (group < 0 || !buffer.shape.SequenceEqual(_groups[group].Buffer.Parameters[position].shape))
            {
                throw new InvalidDataException($"The momentum buffer of parameter {index} [{string.Join(", ", buffer.shape)}] does not fit this optimizer.");
            }

            byGroup[group][position] = buffer;
        }

        // Every group checked before any is changed: a refused set leaves the optimizer as it was.
        for (int g = 0; g < _groups.Length; g++)
        {
            int count = _groups[g].Buffer.Parameters.Count;
            if (byGroup[g].Count > 0 && byGroup[g].Count != count)
            {
                throw new InvalidDataException(
                    $"Parameter group {g} has momentum for {byGroup[g].Count} of its {count} parameters; it keeps one flat buffer for all or none.");
            }
        }

        using IDisposable noGrad = no_grad();
        for (int g = 0; g < _groups.Length; g++)
        {
            if (byGroup[g].Count > 0)
            {
                _groups[g].RestoreMomentum(byGroup[g]);
            }
        }
    }

    /// <summary>Releases the flat buffers' handles; the parameters keep their storage alive.</summary>
    public void Dispose()
    {
        foreach (Group group in _groups)
        {
            group.Dispose();
        }
    }

    private (int Group, int Position) Locate(int index)
    {
        int position = index;
        for (int g = 0; g < _groups.Length && position >= 0; g++)
        {
            int count = _groups[g].Buffer.Parameters.Count;
            if (position < count)
            {
                return (g, position);
            }

            position -= count;
        }

        return (-1, -1);
    }

    /// <summary>One parameter group: its buffers, settings, learning rate and flat momentum.</summary>
    public sealed class Group : IDisposable
    {
        internal Group(ParameterBuffer buffer, Settings settings)
        {
            Buffer = buffer;
            Settings = settings;
            LearningRate = settings.LearningRate;
        }

        /// <summary>The group's parameters and their flat value and gradient buffers.</summary>
        public ParameterBuffer Buffer { get; }

        /// <summary>The group's settings.</summary>
        public Settings Settings { get; }

        /// <summary>The learning rate of the next step.</summary>
        public double LearningRate { get; set; }

        /// <summary>The flat momentum buffer, laid out as <see cref="ParameterBuffer.Values"/>; null until the first step (or a restore).</summary>
        public Tensor? Momentum { get; private set; }

        // TorchSharp's SGD.step for one parameter, without dampening, applied to the whole buffer: the
        // momentum starts as a copy of the first step's direction, then keeps momentum × itself + it.
        internal void Step()
        {
            Tensor values = Buffer.Values;
            Tensor direction = Buffer.Gradients;
            (double momentum, double weightDecay) = (Settings.Momentum, Settings.WeightDecay);
            // Every number in a Scalar of its own that lives through the step: an implicit one (add_
            // without alpha makes one) can be freed by a collection during the call (SgdStep says why).
            using Scalar decay = weightDecay.ToScalar(), keep = momentum.ToScalar(), whole = 1.0.ToScalar(), move = (-LearningRate).ToScalar();
            if (weightDecay != 0)
            {
                direction = direction.add(values, alpha: decay);
            }

            if (momentum != 0)
            {
                if (Momentum is null)
                {
                    Momentum = direction.clone().DetachFromDisposeScope();
                }
                else
                {
                    Momentum.mul_(keep).add_(direction, alpha: whole);
                }

                direction = Settings.Nesterov ? direction.add(Momentum, alpha: keep) : Momentum;
            }

            values.add_(direction, alpha: move);
        }

        internal void RestoreMomentum(Dictionary<int, Tensor> saved)
        {
            Momentum ??= zeros_like(Buffer.Values).DetachFromDisposeScope();
            foreach ((int position, Tensor buffer) in saved)
            {
                using Tensor view = Buffer.View(Momentum, position);
                view.copy_(buffer);
            }
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            Momentum?.Dispose();
            Buffer.Dispose();
        }
    }
}
