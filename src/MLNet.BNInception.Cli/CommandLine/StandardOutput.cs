using System.Text;

namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>
/// The commands' standard output. A write that fails (a full disk behind <c>&gt; file</c>; .NET ignores
/// a pipe whose reader has gone) ends the command as a <see cref="CommandLineException"/> that says it was standard
/// output that could not be written (exit code 3), not as an unexpected <see cref="IOException"/>, and
/// not as a failure of whichever file the command was working on when it wrote.
/// </summary>
internal sealed class StandardOutput(TextWriter console) : TextWriter
{
    /// <inheritdoc/>
    public override Encoding Encoding => console.Encoding;

    /// <inheritdoc/>
    public override IFormatProvider FormatProvider => console.FormatProvider;

    /// <inheritdoc/>
    public override void Write(char value) => Guarded(() => console.Write(value));

    /// <inheritdoc/>
    public override void Write(char[] buffer, int index, int count) => Guarded(() => console.Write(buffer, index, count));

    /// <inheritdoc/>
    public override void Write(string? value) => Guarded(() => console.Write(value));

    /// <inheritdoc/>
    public override void WriteLine(string? value) => Guarded(() => console.WriteLine(value));

    /// <inheritdoc/>
    public override void Flush() => Guarded(console.Flush);

    private static void Guarded(Action write)
    {
        try
        {
            write();
        }
        catch (IOException e)
        {
            throw CommandLineException.UnreadableInput($"standard output cannot be written: {BnInceptionCommandLine.OneLine(e.Message)}", e);
        }
    }
}
