namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>
/// A failure the tool reports as one line on standard error with its own exit code; the message
/// names the file, row, column or option concerned and says what to do.
/// </summary>
public sealed class CommandLineException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CommandLineException(int exitCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ExitCode = exitCode;
    }

    /// <summary>One of <see cref="ExitCodes"/>.</summary>
    public int ExitCode { get; }

    /// <summary>Bad arguments (<see cref="ExitCodes.BadArguments"/>).</summary>
    public static CommandLineException BadArguments(string message) => new(ExitCodes.BadArguments, message);

    /// <summary>An input that cannot be read (<see cref="ExitCodes.UnreadableInput"/>).</summary>
    public static CommandLineException UnreadableInput(string message, Exception? innerException = null) => new(ExitCodes.UnreadableInput, message, innerException);

    /// <summary>A model file that cannot be used (<see cref="ExitCodes.InvalidModel"/>).</summary>
    public static CommandLineException InvalidModel(string message, Exception? innerException = null) => new(ExitCodes.InvalidModel, message, innerException);
}
