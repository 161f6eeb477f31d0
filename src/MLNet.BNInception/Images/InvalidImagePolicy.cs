namespace MLNet.BNInception.Images;

/// <summary>What the safe image loader does with a row whose image cannot be loaded.</summary>
public enum InvalidImagePolicy
{
    /// <summary>Throw an <see cref="InvalidImageException"/> that names the row, the path and the reason (the default).</summary>
    Fail,

    /// <summary>
    /// Drop the row: a warning per row in the log (the first time a view meets it), and a count at the end of
    /// each pass. The view then cannot know its row count, and cannot serve a prediction engine.
    /// </summary>
    Skip,
}
