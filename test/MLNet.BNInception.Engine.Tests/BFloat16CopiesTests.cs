using MLNet.BNInception.Engine.Interop;
using MLNet.BNInception.Engine.Training;
using TorchSharp.Modules;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// Mixed-precision training with the optimizer's bfloat16 copies of the weights (cast once per step,
/// their gradients moved to float32 by <see cref="FlatSgd.CollectGradients"/>) against the same
/// training with the weights cast on every call (the network without copies): the same bits in every
/// loss, gradient, weight and momentum buffer, in both layouts.
/// </summary>
public class BFloat16CopiesTests : SingleThreadedFixture
{
    private static readonly BnInceptionOptions Model = new() { InputSize = 64, InputChannels = 1, NumClasses = 3, Dropout = 0.2 };
    private static readonly FlatSgd.Settings Settings = new(0.05, 0.9, 4e-4, Nesterov: false);

    // Channels-last, the trainer's default and the layout whose strides the copies must keep;
    // FlatSgdTests cover the flat views in both layouts.
    [Trains]
    [TestCase(true, TestName = "{m}(channels-last)")]
    public void TrainingWithCopiesGivesThePerCallCastsBits(bool channelsLast)
    {
        using var perCall = new BnInception(Model, seed: 5).UseChannelsLast(channelsLast).UseBFloat16Compute();
        using var withCopies = new BnInception(Model, seed: 5).UseChannelsLast(channelsLast).UseBFloat16Compute();
        using FlatSgd perCallSgd = new(Groups(perCall));
        using FlatSgd copiesSgd = new(Groups(withCopies), withCopies.ParametersComputedInBFloat16());
        withCopies.UseBFloat16Copies(copiesSgd.BFloat16CopyOf);
        // Frees the gradients' wrappers (.grad makes a new one each time) and the casts compared.
        using DisposeScope wrappers = NewDisposeScope();
        Parameter[] perCallParameters = [.. perCall.parameters()], parameters = [.. withCopies.parameters()];
        Parameter[] castOnes = [.. withCopies.ParametersComputedInBFloat16()];
        Assert.That(castOnes.Select(copiesSgd.BFloat16CopyOf), Is.All.Not.Null, "every convolution and classifier parameter has a copy");
        Assert.That(castOnes, Has.Length.LessThan(parameters.Length), "BN's γ and β have none");
        manual_seed(9);
        using Tensor images = randn([4, 1, 64, 64]);
        using Tensor labels = tensor(new long[] { 0, 1, 2, 1 });

        for (int step = 0; step < 3; step++)
        {
            double lr = 0.05 * (1 - (0.25 * step));
            using DisposeScope scope = NewDisposeScope();
            Tensor perCallLoss = Backward(perCall, perCallSgd, lr, images, labels, step);
            Tensor loss = Backward(withCopies, copiesSgd, lr, images, labels, step);
            TestModels.AssertSameBits(TestModels.Bits(loss), TestModels.Bits(perCallLoss), $"step {step}'s loss");
            if (step == 0)
            {
                // The copies, not the float32 weights, took part: their float32 gradients are still
                // zero and their bfloat16 ones are not, while BN's float32 γ and β have theirs.
                foreach (Parameter cast in castOnes)
                {
                    using Tensor? gradient = cast.grad, copyGradient = copiesSgd.BFloat16CopyOf(cast)!.grad;
                    Assert.That(TestModels.Values(gradient!), Is.All.Zero, "a cast parameter's float32 gradient before collecting");
                    Assert.That(TestModels.Values(copyGradient!), Has.Some.Not.Zero, "a cast parameter's bfloat16 gradient");
                }

                Assert.That(parameters.Except(castOnes).Select(p => TestModels.Values(p.grad!).Any(v => v != 0)), Has.Some.True, "BN's gradients");
            }

            copiesSgd.CollectGradients();
            for (int i = 0; i < parameters.Length; i++)
            {
                TestModels.AssertSameBits(TestModels.Bits(parameters[i].grad!), TestModels.Bits(perCallParameters[i].grad!), $"step {step}: parameter {i}'s gradient");
            }

            perCallSgd.Step();
            copiesSgd.Step();
        }

        AssertSameState(withCopies, perCall, "after three steps");
        AssertSameMomentum(copiesSgd, perCallSgd);
        foreach (Parameter cast in castOnes)
        {
            using Tensor expected = cast.detach().to(ScalarType.BFloat16);
            TestModels.AssertSameBits(TestModels.Bits(copiesSgd.BFloat16CopyOf(cast)!), TestModels.Bits(expected), "each copy is the cast of the stepped weight");
        }

        using (var untrained = new BnInception(Model, seed: 5))
        {
            Assert.That(TestModels.Values(withCopies.Classifier.weight), Is.Not.EqualTo(TestModels.Values(untrained.Classifier.weight)), "the steps moved the weights");
        }
    }

    [Test]
    public void WeightsWrittenFromOutsideReachTheCopiesOnRefresh()
    {
        using var trained = new BnInception(Model, seed: 7);
        using var perCall = new BnInception(Model, seed: 7).UseBFloat16Compute();
        using var withCopies = new BnInception(Model, seed: 5).UseBFloat16Compute();
        using FlatSgd sgd = new(Groups(withCopies), withCopies.ParametersComputedInBFloat16());
        withCopies.UseBFloat16Copies(sgd.BFloat16CopyOf);
        perCall.eval();
        withCopies.eval();
        manual_seed(9);
        using Tensor images = randn([2, 1, 64, 64]);
        using Tensor expected = perCall.call(images);
        using (Tensor stale = withCopies.call(images))
        {
            Assert.That(TestModels.Bits(stale), Is.Not.EqualTo(TestModels.Bits(expected)), "before: another seed's weights");
        }

        PyTorchStateDict.LoadInto(withCopies, trained.state_dict(), source: "the other network");
        sgd.RefreshBFloat16Copies();
        using Tensor refreshed = withCopies.call(images);
        TestModels.AssertSameBits(TestModels.Bits(refreshed), TestModels.Bits(expected), "the values' bits");
    }

    [Test]
    public void TurningBFloat16ComputeOffDropsTheCopies()
    {
        using var perCall = new BnInception(Model, seed: 5).UseBFloat16Compute();
        using var model = new BnInception(Model, seed: 5).UseBFloat16Compute();
        perCall.eval();
        model.eval();
        using (FlatSgd sgd = new(Groups(model), model.ParametersComputedInBFloat16()))
        {
            model.UseBFloat16Copies(sgd.BFloat16CopyOf);
            model.UseBFloat16Compute(false);
        }

        // The copies are gone with the optimizer; the network casts per call again.
        model.UseBFloat16Compute();
        manual_seed(9);
        using Tensor images = randn([2, 1, 64, 64]);
        using Tensor expected = perCall.call(images);
        using Tensor logits = model.call(images);
        TestModels.AssertSameBits(TestModels.Bits(logits), TestModels.Bits(expected), "the values' bits");
        Assert.Throws<InvalidOperationException>(() => model.UseBFloat16Compute(false).UseBFloat16Copies(_ => null));
    }

    // One training step's forward and backward pass (the same dropout draws for both networks); returns the loss.
    private static Tensor Backward(BnInception model, FlatSgd optimizer, double lr, Tensor images, Tensor labels, int step)
    {
        foreach (FlatSgd.Group group in optimizer.Groups)
        {
            group.LearningRate = lr;
        }

        optimizer.ZeroGradients();
        manual_seed(100 + step);
        Tensor loss = nn.functional.cross_entropy(model.call(images), labels);
        loss.backward();
        return loss;
    }

    private static void AssertSameState(BnInception actual, BnInception expected, string when)
    {
        Dictionary<string, Tensor> actualState = actual.state_dict();
        foreach ((string name, Tensor value) in expected.state_dict())
        {
            TestModels.AssertSameBits(TestModels.Bits(actualState[name]), TestModels.Bits(value), $"{when}: {name}");
        }
    }

    private static void AssertSameMomentum(FlatSgd actual, FlatSgd expected)
    {
        Tensor?[] ours = actual.MomentumBuffers(), theirs = expected.MomentumBuffers();
        try
        {
            Assert.That(ours, Has.Length.EqualTo(theirs.Length));
            for (int i = 0; i < ours.Length; i++)
            {
                TestModels.AssertSameBits(TestModels.Bits(ours[i]!), TestModels.Bits(theirs[i]!), $"momentum buffer {i}");
            }
        }
        finally
        {
            Array.ForEach(ours, view => view?.Dispose());
            Array.ForEach(theirs, view => view?.Dispose());
        }
    }

    // Two groups as the trainer makes them: decay on the convolution and classifier weights only.
    private static (IReadOnlyList<Parameter>, FlatSgd.Settings)[] Groups(BnInception model)
    {
        Parameter[] decayed = [.. model.named_parameters().Where(p => p.name.EndsWith("conv.weight", StringComparison.Ordinal) || p.name == "fc.weight").Select(p => p.parameter)];
        return [(decayed, Settings), ([.. model.parameters().Except(decayed)], Settings with { WeightDecay = 0 })];
    }
}
