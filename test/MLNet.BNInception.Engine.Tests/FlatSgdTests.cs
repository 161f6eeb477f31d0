using MLNet.BNInception.Engine.Interop;
using MLNet.BNInception.Engine.Training;
using TorchSharp.Modules;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// SGD over flat buffers against the per-parameter step (<see cref="SgdStep"/>, which matches
/// TorchSharp's <c>SGD.step</c>, see <see cref="SgdStepTests"/>): the same bits in every weight and
/// momentum buffer, in both layouts, and a run restored from per-parameter momentum goes on alike.
/// </summary>
public class FlatSgdTests : SingleThreadedFixture
{
    private static readonly BnInceptionOptions Model = new() { InputSize = 64, InputChannels = 1, NumClasses = 3, Dropout = 0.2 };

    [Trains]
    [TestCase(false, false, 0.9, TestName = "{m}(contiguous, momentum)")]
    [TestCase(true, false, 0.9, TestName = "{m}(channels-last, momentum)")]
    [TestCase(true, true, 0.9, TestName = "{m}(channels-last, Nesterov)")]
    [TestCase(false, false, 0.0, TestName = "{m}(contiguous, no momentum)")]
    public void EveryWeightAndMomentumBufferHasThePerParameterStepsBits(bool channelsLast, bool nesterov, double momentum)
    {
        var settings = new FlatSgd.Settings(0.05, momentum, 4e-4, nesterov);
        using var theirs = new BnInception(Model, seed: 5).UseChannelsLast(channelsLast);
        using var ours = new BnInception(Model, seed: 5).UseChannelsLast(channelsLast);
        using SGD perParameter = PerParameterOptimizer(theirs, settings);
        using FlatSgd flat = new(Groups(ours, settings));
        // Frees the wrappers that TorchSharp's state_dict and the comparisons make.
        using DisposeScope wrappers = NewDisposeScope();
        manual_seed(9);
        using Tensor images = randn([4, 1, 64, 64]);
        using Tensor labels = tensor(new long[] { 0, 1, 2, 1 });

        for (int step = 0; step < 3; step++)
        {
            // A schedule: each step its own rate.
            double lr = 0.05 * (1 - (0.25 * step));
            Step(theirs, perParameter, lr, images, labels, step);
            Step(ours, flat, lr, images, labels, step);
        }

        AssertSameBits(ours, theirs, "after three steps");
        List<SGD.State> states = SgdStep.States(perParameter);
        Tensor?[] buffers = flat.MomentumBuffers();
        try
        {
            Assert.That(buffers, Has.Length.EqualTo(states.Count));
            for (int i = 0; i < states.Count; i++)
            {
                if (momentum == 0)
                {
                    Assert.That((buffers[i], states[i].momentum_buffer), Is.EqualTo(((Tensor?)null, (Tensor?)null)), $"momentum buffer {i}");
                    continue;
                }

                Assert.That(buffers[i]!.stride(), Is.EqualTo(states[i].momentum_buffer!.stride()), $"momentum buffer {i}'s layout");
                TestModels.AssertSameBits(TestModels.Bits(buffers[i]!), TestModels.Bits(states[i].momentum_buffer!), $"momentum buffer {i}");
            }
        }
        finally
        {
            Array.ForEach(buffers, view => view?.Dispose());
        }

        Assert.That(ours.modules().OfType<Conv2d>().Select(conv => channelsLast ? ChannelsLast.Is(conv.weight) : conv.weight.is_contiguous()), Is.All.True, "the layout after the steps");
        using (var untrained = new BnInception(Model, seed: 5))
        {
            Assert.That(TestModels.Values(ours.Classifier.weight), Is.Not.EqualTo(TestModels.Values(untrained.Classifier.weight)), "the steps moved the weights");
        }

        // A new network and optimizer given the weights and the per-parameter momentum, compact and
        // row-major as a checkpoint holds them, take the next step as the uninterrupted run does.
        using var resumed = new BnInception(Model, seed: 6).UseChannelsLast(channelsLast);
        PyTorchStateDict.LoadInto(resumed, ours.state_dict(), source: "the trained network");
        using FlatSgd restored = new(Groups(resumed, settings));
        using (DisposeScope scope = NewDisposeScope())
        {
            restored.RestoreMomentum(states.Select((state, i) => (state, i)).Where(pair => pair.state.momentum_buffer is not null)
                .Select(pair => new KeyValuePair<int, Tensor>(pair.i, pair.state.momentum_buffer!.contiguous())).ToList());
        }

        Step(theirs, perParameter, 0.01, images, labels, 3);
        Step(resumed, restored, 0.01, images, labels, 3);
        AssertSameBits(resumed, theirs, "the step after restoring");
    }

    [Test]
    public void MomentumThatDoesNotFitIsRefusedAndNothingIsRestored()
    {
        using var model = new BnInception(Model, seed: 5);
        using FlatSgd flat = new(Groups(model, new FlatSgd.Settings(0.05, 0.9, 4e-4, Nesterov: false)));
        using DisposeScope scope = NewDisposeScope();
        IReadOnlyList<Parameter> first = flat.Groups[0].Buffer.Parameters, second = flat.Groups[1].Buffer.Parameters;
        Tensor[] wholeFirstGroup = [.. first.Select(parameter => ones(parameter.shape))];
        var wholeFirst = wholeFirstGroup.Select((buffer, i) => new KeyValuePair<int, Tensor>(i, buffer)).ToList();

        // Group 0 whole and group 1 in part: refused, and group 0 is not restored either.
        var error = Assert.Throws<InvalidDataException>(() => flat.RestoreMomentum([.. wholeFirst, new(first.Count, ones(second[0].shape))]));
        Assert.That(error!.Message, Does.Contain($"Parameter group 1 has momentum for 1 of its {second.Count} parameters"));
        Assert.That(flat.Groups.Select(group => group.Momentum), Is.All.Null, "nothing restored from a refused set");

        error = Assert.Throws<InvalidDataException>(() => flat.RestoreMomentum([new(0, ones(first[0].shape)), new(1, zeros([3]))]));
        Assert.That(error!.Message, Does.Contain("The momentum buffer of parameter 1 [3] does not fit"), "a shape that is not its parameter's");

        int total = first.Count + second.Count;
        error = Assert.Throws<InvalidDataException>(() => flat.RestoreMomentum([.. wholeFirst, new(total, ones(second[0].shape))]));
        Assert.That(error!.Message, Does.Contain($"The momentum buffer of parameter {total} "), "an index past the last parameter, with a shape that would fit");
        Assert.Throws<InvalidDataException>(() => flat.RestoreMomentum([new(-1, ones(first[0].shape))]), "a negative index");
        Assert.That(flat.Groups.Select(group => group.Momentum), Is.All.Null, "nothing restored from a refused set");

        // The whole of group 0 alone is taken: group 1 starts its momentum at its next step.
        flat.RestoreMomentum(wholeFirst);
        Tensor?[] buffers = flat.MomentumBuffers();
        Assert.That(buffers.Skip(first.Count), Is.All.Null, "group 1 has no momentum");
        Assert.That(buffers.Take(first.Count).Select(buffer => TestModels.Values(buffer!).All(value => value == 1)), Is.All.True, "group 0's momentum is what was restored");
    }

    /// <summary>
    /// The trainer's groups: weight decay on the convolutions' and the classifier's weights, the
    /// parameters of two or more dimensions (BN's γ and β and the biases have one), unless
    /// DecayBatchNormAndBias decays all; the options' rate, momentum and Nesterov on both.
    /// </summary>
    [TestCase(false)]
    [TestCase(true)]
    public void TheTrainersOptimizerDecaysTheWeightsOfMoreThanOneDimension(bool decayAll)
    {
        using var model = new BnInception(Model, seed: 5);
        Parameter[] all = [.. model.parameters()];
        Parameter[] weights = [.. all.Where(parameter => parameter.dim() > 1)];
        Assert.That(weights, Has.Length.EqualTo(model.modules().OfType<Conv2d>().Count() + 1), "the convolutions' weights and the classifier's");
        var options = new TrainerOptions { LearningRate = 0.02, Momentum = 0.8, WeightDecay = 3e-4, Nesterov = true, DecayBatchNormAndBias = decayAll };
        using FlatSgd flat = FlatSgd.ForTraining(model, options);

        Assert.That(flat.Groups, Has.Count.EqualTo(2));
        Assert.That(flat.Groups[0].Settings, Is.EqualTo(new FlatSgd.Settings(0.02, 0.8, 3e-4, Nesterov: true)));
        Assert.That(flat.Groups[1].Settings, Is.EqualTo(new FlatSgd.Settings(0.02, 0.8, 0, Nesterov: true)));
        Assert.That(flat.Groups[0].Buffer.Parameters, Is.EquivalentTo(decayAll ? all : weights).Using<object>(ReferenceEqualityComparer.Instance));
        Assert.That(flat.Groups[1].Buffer.Parameters, Is.EquivalentTo(decayAll ? [] : all.Except(weights)).Using<object>(ReferenceEqualityComparer.Instance));
    }

    /// <summary>
    /// In mixed precision the trainer's optimizer hands the network its bfloat16 copies: a backward
    /// pass adds into the copies' gradients, not the float32 ones, until they are collected.
    /// </summary>
    [Test]
    public void TheTrainersOptimizerHasAMixedPrecisionNetworkComputeWithItsCopies()
    {
        using var model = new BnInception(Model with { Dropout = 0 }, seed: 5).UseBFloat16Compute();
        using FlatSgd flat = FlatSgd.ForTraining(model, new TrainerOptions());
        using DisposeScope scope = NewDisposeScope();
        Parameter[] computedInBFloat16 = [.. model.ParametersComputedInBFloat16()];
        Assert.That(computedInBFloat16.Select(flat.BFloat16CopyOf), Is.All.Not.Null, "a copy for every weight the network computes with in bfloat16");

        flat.ZeroGradients();
        manual_seed(3);
        nn.functional.cross_entropy(model.call(randn([4, 1, 64, 64])), tensor(new long[] { 0, 1, 2, 1 })).backward();
        foreach (Parameter parameter in computedInBFloat16)
        {
            Assert.That(flat.BFloat16CopyOf(parameter)!.grad!.count_nonzero().item<long>(), Is.Positive, "the copy's gradient is not all zeros");
            Assert.That(parameter.grad!.count_nonzero().item<long>(), Is.Zero, "the float32 gradient, before collecting, is all zeros");
        }

        flat.CollectGradients();
        Assert.That(computedInBFloat16.Select(parameter => parameter.grad!.count_nonzero().item<long>()), Is.All.Positive, "the float32 gradients, collected, are not all zeros");
    }

    [Test]
    public void AParameterInTwoGroupsIsRefused()
    {
        using var model = new BnInception(Model, seed: 5);
        Parameter[] parameters = [.. model.parameters()];
        var settings = new FlatSgd.Settings(0.05, 0.9, 0, Nesterov: false);
        var error = Assert.Throws<ArgumentException>(() => new FlatSgd([(parameters, settings), ([parameters[3]], settings)]).Dispose());
        Assert.That(error!.Message, Does.StartWith("A parameter is in two groups"));
    }

    /// <summary>
    /// Why a flat buffer gives the same bits: libtorch's CPU kernel for <c>a + α·b</c> rounds every
    /// element alike whether its vector loop or its scalar tail computes it (on a CPU with FMA both
    /// fuse the multiply and add; without, neither does), so which elements one kernel's tail covers
    /// does not matter. Each element alone (all tail) against the whole tensor (mostly vector loop).
    /// </summary>
    [Test]
    public void AddingAScaledTensorRoundsEachElementAsInATensorOfOne()
    {
        manual_seed(1);
        using Scalar alpha = (-0.0123456789).ToScalar();
        using Tensor a = randn(1000), b = randn(1000);
        using Tensor whole = a.add(b, alpha: alpha);
        int[] wholeBits = TestModels.Bits(whole);
        var one = new int[1000];
        for (int i = 0; i < 1000; i++)
        {
            using DisposeScope scope = NewDisposeScope();
            Tensor sum = a[i].reshape(1).add(b[i].reshape(1), alpha: alpha);
            one[i] = TestModels.Bits(sum)[0];
        }

        Assert.That(one, Is.EqualTo(wholeBits));
    }

    private static void Step(BnInception model, SGD optimizer, double lr, Tensor images, Tensor labels, int step)
    {
        foreach (optim.ILearningRateController group in optimizer.ParamGroups)
        {
            group.LearningRate = lr;
        }

        optimizer.zero_grad();
        Backward(model, images, labels, step);
        SgdStep.Apply(optimizer);
    }

    private static void Step(BnInception model, FlatSgd optimizer, double lr, Tensor images, Tensor labels, int step)
    {
        foreach (FlatSgd.Group group in optimizer.Groups)
        {
            group.LearningRate = lr;
        }

        optimizer.ZeroGradients();
        Backward(model, images, labels, step);
        optimizer.Step();
    }

    // The same dropout draws for both networks.
    private static void Backward(BnInception model, Tensor images, Tensor labels, int step)
    {
        using DisposeScope scope = NewDisposeScope();
        manual_seed(100 + step);
        nn.functional.cross_entropy(model.call(images), labels).backward();
    }

    private static void AssertSameBits(BnInception actual, BnInception expected, string when)
    {
        Dictionary<string, Tensor> actualState = actual.state_dict();
        foreach ((string name, Tensor value) in expected.state_dict())
        {
            TestModels.AssertSameBits(TestModels.Bits(actualState[name]), TestModels.Bits(value), $"{when}: {name}");
        }
    }

    // Two groups as the trainer makes them: decay on the convolution and classifier weights only.
    private static (Parameter[] Decayed, Parameter[] Exempt) Split(BnInception model)
    {
        Parameter[] decayed = [.. model.named_parameters().Where(p => p.name.EndsWith("conv.weight", StringComparison.Ordinal) || p.name == "fc.weight").Select(p => p.parameter)];
        return (decayed, [.. model.parameters().Except(decayed)]);
    }

    private static SGD PerParameterOptimizer(BnInception model, FlatSgd.Settings settings)
    {
        (Parameter[] decayed, Parameter[] exempt) = Split(model);
        (double lr, double momentum) = (settings.LearningRate, settings.Momentum);
        return optim.SGD(
            [
                new SGD.ParamGroup(decayed, lr, momentum, dampening: 0, settings.WeightDecay, settings.Nesterov),
                new SGD.ParamGroup(exempt, lr, momentum, dampening: 0, weight_decay: 0, settings.Nesterov),
            ],
            lr, momentum, dampening: 0, settings.WeightDecay, settings.Nesterov);
    }

    private static (IReadOnlyList<Parameter>, FlatSgd.Settings)[] Groups(BnInception model, FlatSgd.Settings settings)
    {
        (Parameter[] decayed, Parameter[] exempt) = Split(model);
        return [(decayed, settings), (exempt, settings with { WeightDecay = 0 })];
    }
}
