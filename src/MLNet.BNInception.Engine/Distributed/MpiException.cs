namespace MLNet.BNInception.Engine.Distributed;

/// <summary>
/// An MPI call failed: its error code, Open MPI's text for it (<c>MPI_Error_string</c>), the call
/// and the rank that saw it, all in the message.
/// </summary>
public sealed class MpiException : Exception
{
    /// <summary>Creates the exception for a failed MPI call.</summary>
    /// <param name="call">The MPI function that failed, for example <c>MPI_Allreduce</c>.</param>
    /// <param name="errorCode">What the call returned.</param>
    /// <param name="errorText">Open MPI's text for <paramref name="errorCode"/>.</param>
    /// <param name="rank">The rank that made the call, or -1 before the rank is known.</param>
    public MpiException(string call, int errorCode, string errorText, int rank)
        : base($"{call} failed on rank {(rank >= 0 ? rank.ToString(System.Globalization.CultureInfo.InvariantCulture) : "(not yet known)")} with MPI error {errorCode}: {errorText}")
    {
        Call = call;
        ErrorCode = errorCode;
        ErrorText = errorText;
        Rank = rank;
    }

    /// <summary>The MPI function that failed, for example <c>MPI_Allreduce</c>.</summary>
    public string Call { get; }

    /// <summary>What the call returned (an MPI error class or code, never <c>MPI_SUCCESS</c>).</summary>
    public int ErrorCode { get; }

    /// <summary>Open MPI's text for <see cref="ErrorCode"/>.</summary>
    public string ErrorText { get; }

    /// <summary>The rank that made the call, or -1 when it failed before the rank was known.</summary>
    public int Rank { get; }
}
