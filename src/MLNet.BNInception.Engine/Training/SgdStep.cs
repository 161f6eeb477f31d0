using TorchSharp.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// TorchSharp's <c>SGD.step</c>, the same operations in the same order (so the same bits), but with
/// every number in a Scalar that stays alive until the step ends. TorchSharp 0.107 turns numbers
/// into native Scalars implicitly, which only the finalizer frees, and hands their handle to the
/// native call after its last use of the object: a garbage collection in between can free a Scalar
/// the call is about to read (seen in CI as "Unknown scalar type" during training). The optimizer
/// keeps what it owns: parameter groups, learning rates and momentum buffers, and its step is never
/// called. Training steps with <see cref="FlatSgd"/>, the same operations over whole parameter
/// groups; this per-parameter step serves a TorchSharp optimizer (the Figure 1 experiment) and is
/// the reference the flat step is tested against.
/// Workaround for dotnet/TorchSharp#1434 and #1496 (dispose the Scalars TorchSharp makes implicitly;
/// both open at TorchSharp 0.107.0): it can go, with <c>Network.BatchNormForward</c>, in the first release
/// that has them, once <c>ScalarLifetimeTests</c> passes with TorchSharp's own <c>SGD.step</c>.
/// </summary>
internal static class SgdStep
{
    /// <summary>One step of <paramref name="optimizer"/> with the gradients its parameters hold.</summary>
    public static void Apply(SGD optimizer)
    {
        using IDisposable noGrad = no_grad();
        using DisposeScope scope = NewDisposeScope();
        List<SGD.State> states = States(optimizer);
        int index = 0;
        foreach (SGD.ParamGroup group in optimizer.ParamGroups.Cast<SGD.ParamGroup>())
        {
            SGD.Options settings = group.Options;
            double momentum = settings.momentum!.Value, dampening = settings.dampening!.Value, weightDecay = settings.weight_decay!.Value;
            bool nesterov = settings.nesterov!.Value;
            double lr = settings.LearningRate!.Value;
            using Scalar decay = weightDecay.ToScalar(), keep = momentum.ToScalar(), blend = (1 - dampening).ToScalar();
            using Scalar move = (settings.maximize!.Value ? lr : -lr).ToScalar();
            foreach (Parameter parameter in group.Parameters)
            {
                SGD.State state = states[index++];
                Tensor? grad = parameter.grad;
                if (grad is null)
                {
                    continue;
                }

                if (weightDecay != 0)
                {
                    grad = grad.add(parameter, alpha: decay);
                }

                if (momentum != 0)
                {
                    Tensor? buffer = state.momentum_buffer;
                    if (buffer is null)
                    {
                        buffer = grad.clone().detach().DetachFromDisposeScope();
                        state.momentum_buffer = buffer;
                    }
                    else
                    {
                        buffer.mul_(keep).add_(grad, alpha: blend);
                    }

                    grad = nesterov ? grad.add(buffer, alpha: keep) : buffer;
                }

                parameter.add_(grad, alpha: move);
            }
        }
    }

    /// <summary>The optimizer's per-parameter state, in its parameters' order (the groups' in turn).</summary>
    public static List<SGD.State> States(SGD optimizer) => optimizer.state_dict().State.Cast<SGD.State>().ToList();
}
