namespace MLNet.BNInception.Images;

/// <summary>
/// A row's image cannot be loaded. Thrown under <see cref="InvalidImagePolicy.Fail"/>; the message names
/// the row, the column, the path and the reason, and the properties carry them for code.
/// </summary>
/// <remarks>
/// ML.NET's parallel cursors (its splitter and consolidator) rethrow a worker's exception wrapped in an
/// <see cref="InvalidOperationException"/> whose own message is generic: this exception is then its
/// <see cref="Exception.InnerException"/>.
/// </remarks>
public sealed class InvalidImageException : Exception
{
    /// <summary>Creates the exception for <paramref name="row"/>; <paramref name="message"/> is the whole message.</summary>
    public InvalidImageException(string message, long row, string columnName, string path, InvalidImageReason reason, string detail = "")
        : base(message)
    {
        Row = row;
        ColumnName = columnName;
        Path = path;
        Reason = reason;
        Detail = detail;
    }

    /// <summary>
    /// The row's position (from 0) in the order the cursor read its input: the input's own order unless the
    /// cursor was shuffled. -1 when the row has no position (a prediction engine's input row).
    /// </summary>
    public long Row { get; }

    /// <summary>The column that holds the path.</summary>
    public string ColumnName { get; }

    /// <summary>The path as the row holds it (relative to the image folder, if one was given).</summary>
    public string Path { get; }

    /// <summary>Why the image cannot be loaded.</summary>
    public InvalidImageReason Reason { get; }

    /// <summary>What was found, in a few words and without the row or the advice (for a report's column, say): "no file at '/data/a.jpg'".</summary>
    public string Detail { get; }
}
