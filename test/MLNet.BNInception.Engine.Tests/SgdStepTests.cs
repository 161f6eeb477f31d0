using MLNet.BNInception.Engine.Training;
using TorchSharp.Modules;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>The trainer's SGD step, which holds its Scalars alive, against TorchSharp's own <c>SGD.step</c>.</summary>
public class SgdStepTests : SingleThreadedFixture
{
    private static readonly BnInceptionOptions Model = new() { InputSize = 64, InputChannels = 1, NumClasses = 3, Dropout = 0.2 };

    [TestCase(false)]
    [TestCase(true)]
    public void ChangesEveryBitAsTorchSharpsStepDoes(bool nesterov)
    {
        using var theirs = new BnInception(Model, seed: 5);
        using var ours = new BnInception(Model, seed: 5);
        using SGD theirOptimizer = Optimizer(theirs, nesterov);
        using SGD ourOptimizer = Optimizer(ours, nesterov);
        manual_seed(9);
        using Tensor images = randn([4, 1, 64, 64]);
        using Tensor labels = tensor(new long[] { 0, 1, 2, 1 });

        for (int step = 0; step < 3; step++)
        {
            Backward(theirs, theirOptimizer, images, labels, step);
            WithoutCollections.Run(TorchSharpsOwnStep(theirOptimizer));
            Backward(ours, ourOptimizer, images, labels, step);
            SgdStep.Apply(ourOptimizer);
        }

        foreach ((string name, Tensor value) in theirs.state_dict())
        {
            TestModels.AssertEqualValues(TestModels.Values(ours.state_dict()[name]), TestModels.Values(value), name);
        }

        List<SGD.State> theirStates = SgdStep.States(theirOptimizer), ourStates = SgdStep.States(ourOptimizer);
        Assert.That(ourStates, Has.Count.EqualTo(theirStates.Count));
        for (int i = 0; i < theirStates.Count; i++)
        {
            TestModels.AssertEqualValues(TestModels.Values(ourStates[i].momentum_buffer!), TestModels.Values(theirStates[i].momentum_buffer!), $"momentum buffer {i}");
        }

        using var untrained = new BnInception(Model, seed: 5);
        Assert.That(TestModels.Values(ours.state_dict()["conv1.conv.weight"]), Is.Not.EqualTo(TestModels.Values(untrained.state_dict()["conv1.conv.weight"])),
            "the steps moved the weights");
    }

    // TorchSharp's SGD.step, the reference, makes implicit Scalars: it runs without collections.
    private static Action TorchSharpsOwnStep(SGD optimizer) => [ReferencePath] () =>
    {
        using DisposeScope scope = NewDisposeScope();
        optimizer.step();
    };

    // Two groups as the trainer makes them: decay on the convolution and classifier weights only.
    private static SGD Optimizer(BnInception model, bool nesterov)
    {
        Parameter[] decayed = [.. model.named_parameters().Where(p => p.name.EndsWith("conv.weight", StringComparison.Ordinal) || p.name == "fc.weight").Select(p => p.parameter)];
        Parameter[] exempt = [.. model.parameters().Except(decayed)];
        return optim.SGD([new SGD.ParamGroup(decayed, 0.05, 0.9, weight_decay: 4e-4, nesterov: nesterov), new SGD.ParamGroup(exempt, 0.05, 0.9, weight_decay: 0, nesterov: nesterov)],
            0.05, 0.9, weight_decay: 4e-4, nesterov: nesterov);
    }

    // The same dropout draws for both networks.
    private static void Backward(BnInception model, SGD optimizer, Tensor images, Tensor labels, int step)
    {
        using DisposeScope scope = NewDisposeScope();
        manual_seed(100 + step);
        optimizer.zero_grad();
        Tensor loss = nn.functional.cross_entropy(model.call(images), labels);
        loss.backward();
    }
}
