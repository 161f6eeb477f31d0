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
}
