namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>What every command writes to and how it learns it should stop.</summary>
/// <param name="Output">Results: metrics, summaries, model descriptions.</param>
/// <param name="Error">Progress, warnings and the one-line reason of a failure.</param>
/// <param name="Cancellation">Cancelled by the first Ctrl-C or SIGTERM.</param>
/// <param name="ProgressOnTerminal">Draw live progress bars (standard error is a terminal) rather than plain periodic lines.</param>
internal sealed record CommandContext(TextWriter Output, TextWriter Error, CancellationToken Cancellation, bool ProgressOnTerminal);
