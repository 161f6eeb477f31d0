using MLNet.BNInception.Engine.Training;

namespace MLNet.BNInception.Engine.Tests;

/// <summary>
/// The buffer that keeps the last steps' loss and correct count on the device until the host reads
/// them: it gives back each step's own values in order, refuses a step when full, and starts over
/// after a read.
/// </summary>
public class StepMetricsBufferTests
{
    [Test]
    public void ItReadsBackEachStepInOrderRefusesOneTooManyAndEmptiesOnRead()
    {
        using var buffer = new StepMetricsBuffer(capacity: 3, CPU);
        Assert.That(buffer.Read(), Is.Empty, "nothing added yet");
        PendingStep[] steps = [.. Enumerable.Range(1, 4).Select(step => new PendingStep(0, step, step, Images: 8, LearningRate: 0.1 / step))];
        float[] losses = [2.5f, float.NaN, 0.125f, 1f];
        long[] corrects = [3, 0, 8, 5];
        for (int i = 0; i < 3; i++)
        {
            Assert.That(buffer.IsFull, Is.False);
            Add(buffer, steps[i], losses[i], corrects[i]);
        }

        Assert.That((buffer.Count, buffer.IsFull), Is.EqualTo((3, true)));
        var full = Assert.Throws<InvalidOperationException>(() => Add(buffer, steps[3], losses[3], corrects[3]));
        Assert.That(full!.Message, Is.EqualTo("The step metrics buffer holds 3 steps already; read it first."));

        // A non-finite loss comes back as it is: the divergence check reads it.
        Assert.That(buffer.Read(), Is.EqualTo(Enumerable.Range(0, 3).Select(i => new ReadStep(steps[i], losses[i], corrects[i]))));
        Assert.That((buffer.Count, buffer.IsFull), Is.EqualTo((0, false)));

        Add(buffer, steps[3], losses[3], corrects[3]);
        Assert.That(buffer.Read(), Is.EqualTo(new[] { new ReadStep(steps[3], 1f, 5) }), "after a read it fills from the start");
    }

    private static void Add(StepMetricsBuffer buffer, PendingStep step, float loss, long correct)
    {
        using Tensor lossTensor = tensor(loss), correctTensor = tensor(correct);
        buffer.Add(step, lossTensor, correctTensor);
    }
}
