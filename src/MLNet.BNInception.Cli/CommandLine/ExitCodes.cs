namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>
/// The tool's exit codes, one per kind of failure, so that a job scheduler can tell a retry-worthy
/// interruption from a mistake in the job's definition. docs/cli.md lists them.
/// </summary>
public static class ExitCodes
{
    /// <summary>The command did all its work (a scoring job may still have counted bad rows).</summary>
    public const int Success = 0;

    /// <summary>An unexpected failure: the message names the exception.</summary>
    public const int Failure = 1;

    /// <summary>The arguments are wrong: an unknown or missing option, a value out of range, an output that exists.</summary>
    public const int BadArguments = 2;

    /// <summary>
    /// An input cannot be read (a missing or unreadable CSV file, a column it lacks, a missing image folder), or a file
    /// cannot be written once the work has begun (a full disk, a full temporary folder).
    /// </summary>
    public const int UnreadableInput = 3;

    /// <summary>The model file is missing, is not an ML.NET model, or holds no BN-Inception this tool can run.</summary>
    public const int InvalidModel = 4;

    /// <summary><c>--fail-fast</c> stopped the job at a row whose image cannot be scored.</summary>
    public const int BadRow = 5;

    /// <summary>Ctrl-C or SIGTERM stopped the command; what it wrote is whole, and <c>--resume</c> continues it.</summary>
    public const int Interrupted = 130;
}
