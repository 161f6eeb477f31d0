using MLNet.BNInception.Torch.Modules;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>Networks for tests that compare two ways of scoring.</summary>
internal static class TestModels
{
    /// <summary>
    /// A network in eval mode whose BN γ, β and running statistics are random rather than the
    /// defaults (1, 0, 0, 1), as after training: with the defaults, folding and exports would be
    /// nearly the identity and a comparison would prove little.
    /// </summary>
    public static BnInception WithTrainedLikeBatchNorm(BnInceptionOptions options, ulong seed)
    {
        var model = new BnInception(options, seed);
        torch.manual_seed(seed + 1);
        using IDisposable noGrad = torch.no_grad();
        foreach (BatchNorm2d bn in model.named_modules().Select(m => m.Value).OfType<BatchNorm2d>())
        {
            bn.weight!.uniform_(0.5, 1.5);
            bn.bias!.normal_(0, 0.2);
            bn.running_mean!.normal_(0, 0.5);
            bn.running_var!.uniform_(0.3, 2.0);
        }

        model.Classifier.weight.normal_(0, 0.1);
        model.eval();
        return model;
    }
}
