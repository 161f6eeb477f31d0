using TorchSharp;
using static TorchSharp.torch;

namespace MLNet.BNInception.Engine.Training;

/// <summary>What the host knows of a step when it runs: everything but its loss and correct count.</summary>
/// <param name="Epoch">The epoch, counting from 0.</param>
/// <param name="Step">The global step, counting from 1.</param>
/// <param name="StepInEpoch">The step within its epoch, counting from 1.</param>
/// <param name="Images">The batch's size.</param>
/// <param name="LearningRate">The rate the step used.</param>
internal readonly record struct PendingStep(int Epoch, long Step, int StepInEpoch, long Images, double LearningRate);

/// <summary>A step with its loss and correct count, as read back to the host.</summary>
internal readonly record struct ReadStep(PendingStep Step, float Loss, long Correct);

/// <summary>
/// The loss and correct count of the last steps, kept on the training device until the host reads
/// them all at once: reading a value of a CUDA tensor waits for the queued work, so a read every step
/// would keep the device idle while the host prepares the next (docs/engine.md, "Keeping the device busy").
/// </summary>
internal sealed class StepMetricsBuffer : IDisposable
{
    private readonly Tensor _losses;
    private readonly Tensor _corrects;
    private readonly List<PendingStep> _steps;

    /// <summary>Room for <paramref name="capacity"/> steps on <paramref name="device"/>.</summary>
    public StepMetricsBuffer(int capacity, Device device)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _losses = empty(capacity, ScalarType.Float32, device).DetachFromDisposeScope();
        _corrects = empty(capacity, ScalarType.Int64, device).DetachFromDisposeScope();
        _steps = new List<PendingStep>(capacity);
    }

    /// <summary>Steps added since the last read.</summary>
    public int Count => _steps.Count;

    /// <summary>Whether the next step needs a read first.</summary>
    public bool IsFull => _steps.Count == _losses.size(0);

    /// <summary>Queues copies of a step's scalar loss and correct count on their device: nothing waits for them.</summary>
    /// <exception cref="InvalidOperationException">The buffer is full; read it first.</exception>
    public void Add(PendingStep step, Tensor loss, Tensor correct)
    {
        if (IsFull)
        {
            throw new InvalidOperationException($"The step metrics buffer holds {_steps.Count} steps already; read it first.");
        }

        using DisposeScope scope = NewDisposeScope();
        // Without no_grad, copying the loss in would make the buffer part of the step's graph.
        using IDisposable noGrad = no_grad();
        _losses.narrow(0, _steps.Count, 1).copy_(loss.reshape(1));
        _corrects.narrow(0, _steps.Count, 1).copy_(correct.reshape(1));
        _steps.Add(step);
    }

    /// <summary>
    /// The steps added since the last read, in order; the buffer is empty after. On CUDA the first copy
    /// to the host waits for every queued step: this is the one place the training loop waits for the device.
    /// </summary>
    public IReadOnlyList<ReadStep> Read()
    {
        if (_steps.Count == 0)
        {
            return [];
        }

        float[] losses;
        long[] corrects;
        using (DisposeScope scope = NewDisposeScope())
        {
            losses = _losses.narrow(0, 0, _steps.Count).cpu().data<float>().ToArray();
            corrects = _corrects.narrow(0, 0, _steps.Count).cpu().data<long>().ToArray();
        }

        var read = new ReadStep[_steps.Count];
        for (int i = 0; i < read.Length; i++)
        {
            read[i] = new ReadStep(_steps[i], losses[i], corrects[i]);
        }

        _steps.Clear();
        return read;
    }

    /// <summary>Frees the device tensors.</summary>
    public void Dispose()
    {
        _losses.Dispose();
        _corrects.Dispose();
    }
}
