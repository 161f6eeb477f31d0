using TorchSharp.Modules;
using TorchSharp.Utils;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace MLNet.BNInception.Engine.Network;

/// <summary>
/// BN-Inception (Ioffe and Szegedy, 2015, Figure 5) with the channel counts of the released model,
/// as docs/paper.md §2 states it. Any square input whose side is a multiple of 32 (at least 64) works with
/// the same layers, thanks to the global average pooling before the classifier. State-dict keys are
/// PyTorch's (<c>conv1.conv.weight</c>, <c>inception_3a.branch1x1.bn.running_mean</c>, …, <c>fc.bias</c>).
/// </summary>
public sealed class BnInception : nn.Module<Tensor, Tensor>
{
    /// <summary>docs/paper.md §2, row by row: name, in, 1×1, 3×3 reduce, 3×3, double reduce, double, pool, projection.</summary>
    public static readonly IReadOnlyList<InceptionSpec> Table =
    [
        new("3a", 192, 64, 64, 64, 64, 96, InceptionPool.Average, 32),          // N x 256 x 28 x 28
        new("3b", 256, 64, 64, 96, 64, 96, InceptionPool.Average, 64),          // N x 320 x 28 x 28
        new("3c", 320, 0, 128, 160, 64, 96, InceptionPool.MaxPassThrough, 0),   // N x 576 x 14 x 14
        new("4a", 576, 224, 64, 96, 96, 128, InceptionPool.Average, 128),       // N x 576 x 14 x 14
        new("4b", 576, 192, 96, 128, 96, 128, InceptionPool.Average, 128),      // N x 576 x 14 x 14
        new("4c", 576, 160, 128, 160, 128, 160, InceptionPool.Average, 128),    // N x 608 x 14 x 14
        new("4d", 608, 96, 128, 192, 160, 192, InceptionPool.Average, 128),     // N x 608 x 14 x 14
        new("4e", 608, 0, 128, 192, 192, 256, InceptionPool.MaxPassThrough, 0), // N x 1056 x 7 x 7
        new("5a", 1056, 352, 192, 320, 160, 224, InceptionPool.Average, 128),   // N x 1024 x 7 x 7
        new("5b", 1024, 352, 192, 320, 192, 224, InceptionPool.Max, 128),       // N x 1024 x 7 x 7
    ];

    [ComponentName(Name = "conv1")]
    private readonly ConvolutionBlock _conv1;

    [ComponentName(Name = "conv2_reduce")]
    private readonly ConvolutionBlock _conv2Reduce;

    [ComponentName(Name = "conv2")]
    private readonly ConvolutionBlock _conv2;

    private readonly InceptionModule[] _inceptions;

    [ComponentName(Name = "fc")]
    private readonly Linear _fc;

    // The classifier's bfloat16 copies (UseBFloat16Copies); not a Tensor field, so never registered.
    private (Tensor Weight, Tensor? Bias)? _classifierCopies;

    /// <summary>
    /// Builds the network, its weights initialised by <see cref="Initialize"/> with
    /// <paramref name="seed"/>, in the default (contiguous) layout; see <see cref="UseChannelsLast"/>.
    /// The global random generator is left as it was.
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range (the message names it and what is allowed).</exception>
    public BnInception(BnInceptionOptions options, ulong seed = 0)
        : base(TorchRuntime.ModuleName(nameof(BnInception)))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        BatchNormalization = options.BatchNorm ? BatchNormalization.Layers : BatchNormalization.None;

        // TorchSharp's layer constructors draw their own initial weights from the global generator;
        // they are overwritten below, and the draw must not move the caller's random stream. The
        // scope frees what those constructors leave behind (init.uniform_ returns a tensor nobody
        // disposes); the parameters themselves are detached from it by the layers' setters.
        using Tensor savedState = get_rng_state();
        using DisposeScope constructorLeftovers = NewDisposeScope();
        try
        {
            _conv1 = new ConvolutionBlock(options.InputChannels, 64, 7, 2, 3, options);
            _conv2Reduce = new ConvolutionBlock(64, 64, 1, 1, 0, options);
            _conv2 = new ConvolutionBlock(64, 192, 3, 1, 1, options);
            _inceptions = Table.Select(spec => new InceptionModule(spec, options)).ToArray();
            _fc = nn.Linear(Table[^1].OutChannels, options.NumClasses);
        }
        finally
        {
            set_rng_state(savedState);
        }

        // Registration order is PyTorch's: the stem, the modules in table order, the classifier.
        register_module("conv1", _conv1);
        register_module("conv2_reduce", _conv2Reduce);
        register_module("conv2", _conv2);
        for (int i = 0; i < _inceptions.Length; i++)
        {
            register_module("inception_" + Table[i].Name, _inceptions[i]);
        }

        register_module("fc", _fc);
        RegisterComponents();
        Initialize(seed);
    }

    /// <summary>The architecture settings.</summary>
    public BnInceptionOptions Options { get; }

    /// <summary>
    /// Whether the network has BN layers, has BN folded into its convolutions (made by
    /// <see cref="Inference.BatchNormFolding"/>, or read from a folded ONNX file), or was trained
    /// without BN. The last two have the same layers, so only this tells them apart.
    /// </summary>
    public BatchNormalization BatchNormalization { get; private set; }

    /// <summary>The classifier.</summary>
    public Linear Classifier => _fc;

    /// <summary>
    /// A network without BN layers to receive the weights of a network trained with
    /// <paramref name="trained"/>'s settings once its BN is folded into the convolutions: it is
    /// built as one trained without BN, but says that its BN is folded.
    /// </summary>
    internal static BnInception WithFoldedBatchNorm(BnInceptionOptions trained)
    {
        var network = new BnInception(trained with { BatchNorm = false });
        network.BatchNormalization = BatchNormalization.FoldedIntoConvolutions;
        return network;
    }

    /// <summary>A network built as this one is (its options, its BN folded or not), with fresh weights.</summary>
    internal BnInception BuiltAlike() =>
        BatchNormalization == BatchNormalization.FoldedIntoConvolutions ? WithFoldedBatchNorm(Options) : new BnInception(Options);

    /// <summary>True when the convolution weights, and every input, are laid out channels-last (<see cref="UseChannelsLast"/>).</summary>
    public bool IsChannelsLast { get; private set; }

    /// <summary>
    /// True when the convolutions and the classifier compute in bfloat16 from the float32 weights
    /// (<see cref="UseBFloat16Compute"/>).
    /// </summary>
    public bool ComputesInBFloat16 { get; private set; }

    /// <summary>
    /// The generator dropout draws its masks from in training mode (a CPU generator; on another
    /// device the mask is drawn on the CPU and copied there), or null, the default, for libtorch's
    /// global one. <see cref="Training.BnInceptionTrainer"/> sets its run's own while it trains, so that
    /// a seed gives the same run whatever other threads draw meanwhile, and clears it when it returns
    /// the network. The network does not own it.
    /// </summary>
    public Generator? DropoutGenerator { get; set; }

    /// <summary>Every convolution-BN-nonlinearity block, with its name (e.g. "inception_3a.branch3x3").</summary>
    public IEnumerable<(string Name, ConvolutionBlock Block)> Blocks() =>
        named_modules().Where(named => named.module is ConvolutionBlock).Select(named => (named.name, (ConvolutionBlock)named.module));

    /// <summary>
    /// Sets every weight from a generator of its own seeded with <paramref name="seed"/>, the one
    /// place weights are initialised: convolutions He-normal (std √(2/fan_in), for ReLU; √(1/fan_in)
    /// for sigmoid), biases 0, BN γ = 1 and β = 0 with fresh running statistics, the classifier
    /// N(0, 0.01²). Values are drawn in the contiguous layout and copied in, so a channels-last
    /// network gets the same weights. The generator is not libtorch's global one, so the same seed
    /// gives the same weights whatever other threads draw meanwhile, and the global stream is not moved.
    /// </summary>
    public void Initialize(ulong seed)
    {
        // A fresh CPU generator with a seed draws what libtorch's global one draws after manual_seed
        // with that seed, so the weights are those of earlier versions, which seeded the global one.
        using var generator = new Generator(seed);
        double gain = Options.Activation == Activation.Relu ? 2.0 : 1.0;
        using IDisposable noGrad = no_grad();
        using DisposeScope scope = NewDisposeScope();
        // Held to the end rather than made implicitly from 1 (see Training.SgdStep for why).
        using Scalar one = 1.ToScalar();
        foreach (nn.Module module in modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    long fanIn = conv.weight.shape.Skip(1).Aggregate(1L, (product, size) => product * size);
                    conv.weight.copy_(Normal(0, Math.Sqrt(gain / fanIn), conv.weight.shape, one, generator));
                    conv.bias?.zero_();
                    break;
                case BatchNorm2d bn:
                    bn.weight.fill_(one);
                    bn.bias?.zero_();
                    bn.running_mean?.zero_();
                    bn.running_var?.fill_(one);
                    bn.num_batches_tracked?.zero_();
                    break;
                case Linear linear:
                    linear.weight.copy_(Normal(0, 0.01, linear.weight.shape, one, generator));
                    linear.bias?.zero_();
                    break;
            }
        }
    }

    // TorchSharp's normal(mean, std, size), randn(size)·std + mean, with the numbers in Scalars held
    // to the end: TorchSharp makes them implicitly there (see Training.SgdStep for why that is avoided).
    private static Tensor Normal(double mean, double std, long[] shape, Scalar one, Generator generator)
    {
        using Scalar scale = std.ToScalar(), shift = mean.ToScalar();
        return randn(shape, generator: generator).mul_(scale).add_(shift, one);
    }

    /// <summary>
    /// Lays the convolution weights out channels-last (or back, with false), and from then on lays
    /// every input out the same way, so libtorch runs its channels-last kernels throughout: on this
    /// project's 2-core AVX-512 machine, 1.6× faster training and 1.7× faster inference at 224×224
    /// than the contiguous layout. Values and results do not change beyond float rounding. Call it
    /// before creating an optimizer: the weights become new parameters.
    /// </summary>
    public BnInception UseChannelsLast(bool enable = true)
    {
        if (enable == IsChannelsLast)
        {
            return this;
        }

        // The weights become new parameters, so copies of the old ones would go stale.
        foreach ((_, ConvolutionBlock block) in Blocks())
        {
            block.UseComputeCopies(null, null);
        }

        _classifierCopies = null;

        using (no_grad())
        {
            foreach (nn.Module module in modules())
            {
                if (module is Conv2d conv)
                {
                    using Tensor relaid = enable ? ChannelsLast.Of(conv.weight) : conv.weight.contiguous();
                    conv.weight = new Parameter(relaid.clone(), conv.weight.requires_grad);
                }
            }
        }

        IsChannelsLast = enable;
        return this;
    }

    /// <summary>
    /// Mixed precision (or back to plain, with false): the weights stay float32 and remain the
    /// parameters an optimizer updates, but every convolution and the classifier compute in bfloat16
    /// on casts of them, which runs about twice as fast on CPUs with AVX512-BF16. Batch normalization
    /// keeps its γ, β and running statistics in float32 and computes the batch statistics in float32;
    /// pooling and concatenation move bfloat16 activations (half the memory traffic). Input and
    /// logits stay float32, so the loss is computed in float32, and gradients reach the float32
    /// weights through the casts. The trainer has the layers use bfloat16 copies that its optimizer
    /// casts once per step instead (same bits), and turns this off before handing the network back.
    /// docs/engine.md gives the measurements behind each choice.
    /// </summary>
    public BnInception UseBFloat16Compute(bool enable = true)
    {
        if (enable && _fc.weight.dtype != ScalarType.Float32)
        {
            throw new InvalidOperationException($"Mixed precision keeps float32 weights; this network's are {_fc.weight.dtype}.");
        }

        foreach ((_, ConvolutionBlock block) in Blocks())
        {
            if (!enable)
            {
                block.UseComputeCopies(null, null);
            }

            block.ComputeType = enable ? ScalarType.BFloat16 : null;
        }

        if (!enable)
        {
            _classifierCopies = null;
        }

        ComputesInBFloat16 = enable;
        return this;
    }

    /// <summary>The parameters that compute in bfloat16 under <see cref="UseBFloat16Compute"/>: every convolution's and the classifier's weight and bias.</summary>
    internal IEnumerable<Parameter> ParametersComputedInBFloat16() =>
        Blocks().SelectMany(named => new[] { named.Block.Conv.weight, named.Block.Conv.bias })
            .Concat([_fc.weight, _fc.bias])
            .OfType<Parameter>();

    /// <summary>
    /// In mixed precision, has the convolutions and the classifier compute with bfloat16 copies of
    /// their weights and biases that <paramref name="copyOf"/> gives (a training optimizer keeps them
    /// current and moves their gradients to the float32 parameters; Training.FlatSgd), instead of
    /// casting the float32 ones on every call. A layer whose weight has no copy keeps casting. Call
    /// it after the network has its final layout and device; <see cref="UseChannelsLast"/> and
    /// <c>UseBFloat16Compute(false)</c> drop the copies.
    /// </summary>
    /// <exception cref="InvalidOperationException">The network does not compute in bfloat16.</exception>
    internal void UseBFloat16Copies(Func<Parameter, Tensor?> copyOf)
    {
        ArgumentNullException.ThrowIfNull(copyOf);
        if (!ComputesInBFloat16)
        {
            throw new InvalidOperationException("bfloat16 copies of the weights are for a network that computes in bfloat16 (UseBFloat16Compute).");
        }

        foreach ((_, ConvolutionBlock block) in Blocks())
        {
            block.UseComputeCopies(copyOf(block.Conv.weight), block.Conv.bias is { } bias ? copyOf(bias) : null);
        }

        _classifierCopies = null;
        if (copyOf(_fc.weight) is { } weight)
        {
            Tensor? bias = _fc.bias is { } ownBias ? copyOf(ownBias) : null;
            if (weight.dtype != ScalarType.BFloat16 || !weight.shape.SequenceEqual(_fc.weight.shape) ||
                (_fc.bias is not null && (bias is null || bias.dtype != ScalarType.BFloat16 || !bias.shape.SequenceEqual(_fc.bias.shape))))
            {
                throw new ArgumentException("The classifier's bfloat16 copies do not match its weight and bias.", nameof(copyOf));
            }

            _classifierCopies = (weight, bias);
        }
    }

    /// <summary>Logits, N × classes, for images N × channels × side × side in the network's element type (float32 unless converted).</summary>
    /// <exception cref="ArgumentException">The input's shape or element type does not match the network.</exception>
    public override Tensor forward(Tensor input) => Run(input, observeStage: null);

    /// <summary>Runs the network and reports each stage's output (stem, then each inception module, then the pooled features).</summary>
    internal IReadOnlyList<(string Stage, long[] Shape, bool ChannelsLast)> StageOutputs(Tensor input)
    {
        var stages = new List<(string, long[], bool)>();
        using Tensor logits = Run(input, (stage, output) => stages.Add((stage, output.shape, ChannelsLast.Is(output))));
        return stages;
    }

    private Tensor Run(Tensor input, Action<string, Tensor>? observeStage)
    {
        CheckInput(input);
        using DisposeScope scope = NewDisposeScope();
        Tensor x = IsChannelsLast ? ChannelsLast.Of(input) : input;
        if (ComputesInBFloat16)
        {
            x = x.to(ScalarType.BFloat16);
        }

        x = _conv1.call(x);                                                            // N x 64 x 112 x 112
        x = F.max_pool2d(x, [3], strides: [2], ceil_mode: true);                       // N x 64 x 56 x 56
        x = _conv2.call(_conv2Reduce.call(x));                                         // N x 192 x 56 x 56
        x = F.max_pool2d(x, [3], strides: [2], ceil_mode: true);                       // N x 192 x 28 x 28
        observeStage?.Invoke("stem", x);
        foreach (InceptionModule inception in _inceptions)
        {
            x = inception.call(x);                                                     // see Table
            observeStage?.Invoke(inception.Spec.Name, x);
        }

        x = F.adaptive_avg_pool2d(x, [1, 1]).flatten(1);                              // N x 1024
        observeStage?.Invoke("pool", x);
        if (Options.Dropout > 0)
        {
            x = training && DropoutGenerator is { } generator
                ? GeneratorDropout.Apply(x, Options.Dropout, generator)
                : F.dropout(x, Options.Dropout, training);
        }

        Tensor logits = ComputesInBFloat16 ? Classify(x, ScalarType.BFloat16).to(ScalarType.Float32) : _fc.call(x);
        return logits.MoveToOuterDisposeScope();                                       // N x classes
    }

    // As ConvolutionBlock.Convolve: the copies kept current by the optimizer, or casts for this call.
    private Tensor Classify(Tensor features, ScalarType computeType)
    {
        if (_classifierCopies is { } copies)
        {
            return F.linear(features, copies.Weight, copies.Bias);
        }

        using Tensor weight = _fc.weight.to(computeType);
        using Tensor? bias = _fc.bias?.to(computeType);
        return F.linear(features, weight, bias);
    }

    private void CheckInput(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Options.CheckImageShape(input.shape, "BN-Inception's input", nameof(input));
        ScalarType expected = _fc.weight.dtype;
        if (input.dtype != expected)
        {
            throw new ArgumentException($"BN-Inception expects {expected} input (the type of its weights), got {input.dtype}.", nameof(input));
        }
    }
}
