namespace MLNet.BNInception.Engine.Training;

/// <summary>
/// The training images do not split into batches batch normalization can train on: the last batch would hold
/// one image, or, with DropLastBatch, no batch is full. An <see cref="ArgumentException"/>, as before it had a
/// type of its own, so that callers can name the setting to change in their own words.
/// </summary>
public sealed class BatchSizeMismatchException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public BatchSizeMismatchException(string message, long images, int batchSize)
        : base(message)
    {
        Images = images;
        BatchSize = batchSize;
    }

    /// <summary>Creates the exception.</summary>
    public BatchSizeMismatchException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public BatchSizeMismatchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public BatchSizeMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The training images there were.</summary>
    public long Images { get; }

    /// <summary>The batch size asked for: of each process, under data-parallel training.</summary>
    public int BatchSize { get; }

    /// <summary>The processes (MPI ranks) the global batch of <see cref="BatchSize"/> × processes is shared among: 1 without data parallelism.</summary>
    public int Processes { get; init; } = 1;
}
