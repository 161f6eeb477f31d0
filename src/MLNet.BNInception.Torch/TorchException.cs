namespace MLNet.BNInception.Torch;

/// <summary>An error reported by libtorch; the message is libtorch's own.</summary>
public sealed class TorchException : Exception
{
    /// <summary>Creates the exception with libtorch's message.</summary>
    public TorchException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    public TorchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with a generic message.</summary>
    public TorchException()
        : base("libtorch reported an error")
    {
    }
}
