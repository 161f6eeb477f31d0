namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>
/// A file that could not be written (a full disk, a file the system refuses), found wherever a library
/// wrapped it, and said as what it is: not as an unexpected failure, nor as a damaged input.
/// </summary>
internal static class WriteFailure
{
    /// <summary>The <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> in <paramref name="error"/> or its inner exceptions; null when there is none.</summary>
    public static Exception? FindIn(Exception? error) => error switch
    {
        null => null,
        IOException or UnauthorizedAccessException => error,
        AggregateException aggregate => aggregate.InnerExceptions.Select(FindIn).FirstOrDefault(found => found is not null),
        _ => FindIn(error.InnerException),
    };

    /// <summary>
    /// The failure in words, with, when the file was one of a temporary folder (under <c>$TMPDIR</c>, where loading
    /// and saving a model stage the network), what to do about that folder.
    /// </summary>
    public static string Describe(Exception failure)
    {
        string temporary = Path.GetTempPath().TrimEnd('/');
        string why = BnInceptionCommandLine.OneLine(failure.Message);
        return failure.Message.Contains(temporary + "/", StringComparison.Ordinal)
            ? $"{why} (the temporary folder '{temporary}': free space there, or set TMPDIR to a folder with room, about 40 MB a model)"
            : why;
    }
}
