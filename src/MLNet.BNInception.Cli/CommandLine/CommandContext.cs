namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>What every command writes to and how it learns it should stop.</summary>
/// <param name="Output">Results: metrics, summaries, model descriptions.</param>
/// <param name="Error">Progress, warnings and the one-line reason of a failure.</param>
/// <param name="StopGracefully">
/// For a command that can stop at a safe point: makes the first Ctrl-C or SIGTERM cancel the token it
/// returns instead of ending the process.
/// </param>
/// <param name="ProgressOnTerminal">Draw live progress bars (standard error is a terminal) rather than plain periodic lines.</param>
internal sealed record CommandContext(TextWriter Output, TextWriter Error, Func<CancellationToken> StopGracefully, bool ProgressOnTerminal);
