using MLNet.BNInception.Torch;
using MLNet.BNInception.Torch.Modules;
using F = MLNet.BNInception.Torch.torch.nn.functional;

namespace MLNet.BNInception.Models;

/// <summary>
/// BN-Inception (Ioffe and Szegedy, 2015, Figure 5) with the channel counts of the released model,
/// as SPEC.md §2 states it. Any square input whose side is a multiple of 32 (at least 64) works with
/// the same layers, thanks to the global average pooling before the classifier.
/// </summary>
public sealed class BnInception : Module
{
    /// <summary>SPEC.md §2, row by row: name, in, 1×1, 3×3 reduce, 3×3, double reduce, double, pool, projection.</summary>
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

    private readonly ConvBnRelu _conv1;
    private readonly ConvBnRelu _conv2Reduce;
    private readonly ConvBnRelu _conv2;
    private readonly InceptionModule[] _inceptions;
    private readonly Linear _fc;

    /// <summary>Builds the network; the weights are initialised by <see cref="Initialize"/> with <paramref name="seed"/>.</summary>
    /// <exception cref="ArgumentException">An option is out of range (the message names it and what is allowed).</exception>
    public BnInception(BnInceptionOptions options, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _conv1 = register_module("conv1", new ConvBnRelu(options.InputChannels, 64, 7, 2, 3, options));
        _conv2Reduce = register_module("conv2_reduce", new ConvBnRelu(64, 64, 1, 1, 0, options));
        _conv2 = register_module("conv2", new ConvBnRelu(64, 192, 3, 1, 1, options));
        _inceptions = Table.Select(spec => register_module("inception_" + spec.Name, new InceptionModule(spec, options))).ToArray();
        _fc = register_module("fc", new Linear(Table[^1].OutChannels, options.NumClasses));
        Initialize(seed);
    }

    /// <summary>The architecture settings.</summary>
    public BnInceptionOptions Options { get; }

    /// <summary>The classifier.</summary>
    public Linear Classifier => _fc;

    /// <summary>
    /// Sets every weight from a generator seeded with <paramref name="seed"/>, the one place weights
    /// are initialised: convolutions He-normal (std √(2/fan_in), for ReLU; √(1/fan_in) for sigmoid),
    /// biases 0, BN γ = 1 and β = 0 with fresh running statistics, the classifier N(0, 0.01²).
    /// The global generator's state is restored afterwards, so building a model mid-training (to
    /// score, or to fold BN) does not change the training's random stream.
    /// </summary>
    public void Initialize(ulong seed)
    {
        using Tensor savedState = torch.get_rng_state();
        try
        {
            torch.manual_seed(seed);
            InitializeFromCurrentGenerator();
        }
        finally
        {
            torch.set_rng_state(savedState);
        }
    }

    private void InitializeFromCurrentGenerator()
    {
        double gain = Options.Activation == Activation.Relu ? 2.0 : 1.0;
        using IDisposable noGrad = torch.no_grad();
        foreach ((_, Module module) in named_modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    long fanIn = conv.weight.shape.Skip(1).Aggregate(1L, (product, size) => product * size);
                    conv.weight.normal_(0, Math.Sqrt(gain / fanIn));
                    conv.bias?.zero_();
                    break;
                case BatchNorm2d bn:
                    bn.weight?.fill_(1);
                    bn.bias?.zero_();
                    bn.running_mean?.zero_();
                    bn.running_var?.fill_(1);
                    bn.num_batches_tracked?.zero_();
                    break;
                case Linear linear:
                    linear.weight.normal_(0, 0.01);
                    linear.bias?.zero_();
                    break;
            }
        }
    }

    /// <summary>Logits, N × classes, for images N × channels × side × side.</summary>
    /// <exception cref="ArgumentException">The input's shape does not match the options.</exception>
    public override Tensor forward(Tensor input) => Run(input, observeStage: null);

    /// <summary>Runs the network and reports each stage's output shape (stem, then each inception module, then the pooled features).</summary>
    internal IReadOnlyList<(string Stage, long[] Shape)> StageShapes(Tensor input)
    {
        var shapes = new List<(string, long[])>();
        using Tensor logits = Run(input, (stage, output) => shapes.Add((stage, output.shape)));
        return shapes;
    }

    private Tensor Run(Tensor input, Action<string, Tensor>? observeStage)
    {
        CheckInput(input);
        using DisposeScope scope = torch.NewDisposeScope();
        Tensor x = _conv1.call(input);                                                 // N x 64 x 112 x 112
        x = F.max_pool2d(x, [3], stride: [2], ceil_mode: true);                        // N x 64 x 56 x 56
        x = _conv2.call(_conv2Reduce.call(x));                                         // N x 192 x 56 x 56
        x = F.max_pool2d(x, [3], stride: [2], ceil_mode: true);                        // N x 192 x 28 x 28
        observeStage?.Invoke("stem", x);
        foreach (InceptionModule inception in _inceptions)
        {
            x = inception.call(x);                                                     // see Table
            observeStage?.Invoke(inception.Spec.Name, x);
        }

        x = F.adaptive_avg_pool2d(x, [1]).flatten(1);                                  // N x 1024
        observeStage?.Invoke("pool", x);
        if (Options.Dropout > 0)
        {
            x = F.dropout(x, Options.Dropout, training);
        }

        return _fc.call(x).MoveToOuterDisposeScope();                                  // N x classes
    }

    private void CheckInput(Tensor input)
    {
        long[] shape = input.shape;
        if (shape.Length != 4 || shape[1] != Options.InputChannels || shape[2] != Options.InputSize || shape[3] != Options.InputSize)
        {
            throw new ArgumentException(
                $"BN-Inception expects input N x {Options.InputChannels} x {Options.InputSize} x {Options.InputSize}, got [{string.Join(", ", shape)}].",
                nameof(input));
        }

        if (input.dtype != ScalarType.Float32)
        {
            throw new ArgumentException($"BN-Inception expects float32 input, got {input.dtype}.", nameof(input));
        }
    }
}
