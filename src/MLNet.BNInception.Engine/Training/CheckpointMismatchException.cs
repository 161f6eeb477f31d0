namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// A resume was refused before any training: the checkpoint is a run of another network (other
/// classes, another input) or, where the caller described its data, of other data (classes named or
/// numbered otherwise, another validation split, another number of rows). An <see cref="ArgumentException"/>:
/// the checkpoint and the data given do not belong together, where an <see cref="InvalidDataException"/>
/// says the checkpoint itself cannot be read.
/// </summary>
public sealed class CheckpointMismatchException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public CheckpointMismatchException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public CheckpointMismatchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public CheckpointMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
