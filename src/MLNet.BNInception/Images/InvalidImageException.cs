namespace MLNet.BNInception.Images;

/// <summary>
/// A row's image cannot be loaded. Thrown under <see cref="InvalidImagePolicy.Fail"/>; the message names
/// the row, the column, the path and the reason, and the properties carry them for code.
/// </summary>
/// <remarks>
/// ML.NET's parallel cursors (its splitter and consolidator), its cache and its shuffle pool rethrow a worker's
/// exception wrapped in an <see cref="InvalidOperationException"/> whose own message is generic: this exception
/// is then an inner exception, found by <see cref="FindIn"/>. The BN-Inception trainer's <c>Fit</c> does that
/// itself and throws an <see cref="InvalidImageException"/> at the top, with what ML.NET threw as its inner
/// exception.
/// </remarks>
public sealed class InvalidImageException : Exception
{
    /// <summary>Creates the exception for <paramref name="row"/>; <paramref name="message"/> is the whole message.</summary>
    public InvalidImageException(string message, long row, string columnName, string path, InvalidImageReason reason, string detail = "")
        : this(message, row, columnName, path, reason, detail, innerException: null)
    {
    }

    private InvalidImageException(string message, long row, string columnName, string path, InvalidImageReason reason, string detail,
        Exception? innerException, string? dataRead = null)
        : base(message, innerException)
    {
        Row = row;
        ColumnName = columnName;
        Path = path;
        Reason = reason;
        Detail = detail;
        DataRead = dataRead;
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

    /// <summary>
    /// The <see cref="InvalidImageException"/> in <paramref name="error"/> or among its inner exceptions (every
    /// one of an <see cref="AggregateException"/>'s), however deep ML.NET wrapped it; null when there is none.
    /// </summary>
    public static InvalidImageException? FindIn(Exception? error) => error switch
    {
        null => null,
        InvalidImageException found => found,
        AggregateException aggregate => aggregate.InnerExceptions.Select(FindIn).FirstOrDefault(found => found is not null),
        _ => FindIn(error.InnerException),
    };

    /// <summary>
    /// Which of a trainer's data the row is in, "training" or "validation", when the trainer was reading it (both can
    /// be views of the same loader, with rows numbered alike); null elsewhere.
    /// </summary>
    internal string? DataRead { get; }

    /// <summary>
    /// The same failure, to throw in place of <paramref name="wrapper"/>, which becomes its inner exception; read as
    /// part of a trainer's <paramref name="dataRead"/> data ("training", "validation"), the message says so first.
    /// </summary>
    internal InvalidImageException RaisedFrom(Exception wrapper, string? dataRead = null) => dataRead is null || DataRead is not null
        ? new(Message, Row, ColumnName, Path, Reason, Detail, wrapper, DataRead)
        : new($"In the {dataRead} data, {Message}", Row, ColumnName, Path, Reason, Detail, wrapper, dataRead);
}
