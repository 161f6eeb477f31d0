using System.Globalization;

namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// The loss became NaN or infinite; training stopped and no checkpoint was written after it. The
/// loss is read every <see cref="TrainerOptions.StepsPerHostRead"/> steps, so the weights in memory
/// may have taken that step and a few more; the last checkpoint is from before it.
/// </summary>
public sealed class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException()
        : base("Training diverged.")
    {
    }

    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The first global step whose loss was not finite, counting from 1.</summary>
    public long Step { get; init; }

    /// <summary>The learning rate of that step.</summary>
    public double LearningRate { get; init; }

    // The weights have taken every step up to the read, the bad one included: the last checkpoint is
    // the state to go back to, and every checkpoint is written after a read that found all losses finite.
    internal static TrainingDivergedException At(PendingStep step, float loss, long lastStepTaken, string? checkpointPath)
    {
        string moved = lastStepTaken > step.Step
            ? $"The weights in memory have moved since: steps {step.Step} to {lastStepTaken} were applied before their losses were read (StepsPerHostRead)."
            : "The weights in memory have moved since: the step was applied before its loss was read.";
        string checkpointNote = checkpointPath is null
            ? "No checkpoint was being written."
            : $"The last checkpoint, {checkpointPath}, is from before step {step.Step} and intact.";
        return new TrainingDivergedException(
            string.Create(CultureInfo.InvariantCulture, $"Training diverged: the loss became {loss} at step {step.Step} (epoch {step.Epoch + 1}, learning rate {step.LearningRate:G4}). ") +
            $"{moved} {checkpointNote} Lower the learning rate or check the input data.")
        {
            Step = step.Step,
            LearningRate = step.LearningRate,
        };
    }
}
