namespace MLNet.BNInception.Images;

/// <summary>What the safe image loader does with a row whose image cannot be read.</summary>
public enum InvalidImagePolicy
{
    /// <summary>Throw an exception that names the row, the path and the reason (the default).</summary>
    Fail,

    /// <summary>Drop the row: a warning per row in the log, and a count at the end of each pass.</summary>
    Skip,
}
