using MLNet.BNInception.Cli.CommandLine;

namespace MLNet.BNInception.Cli.Tests;

/// <summary>
/// The tool's own entry point, run in this process: the same parsing, checks and messages as the
/// installed command (whose Program.cs only calls it), without a process start per run.
/// </summary>
internal static class InProcessTool
{
    /// <summary>Runs <c>bninception</c> with <paramref name="arguments"/>, capturing what it prints.</summary>
    public static ExternalProcess.Result Run(params string[] arguments)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode = BnInceptionCommandLine.Run(arguments, new CommandContext(output, error, () => CancellationToken.None, ProgressOnTerminal: false));
        return new ExternalProcess.Result("bninception " + string.Join(' ', arguments), exitCode, output.ToString(), error.ToString());
    }
}
