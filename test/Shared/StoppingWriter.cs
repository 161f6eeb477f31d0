using System.Text;

namespace MLNet.BNInception.Tests;

/// <summary>
/// A writer that passes every line on and cancels <paramref name="stop"/> once a line containing
/// <paramref name="text"/> is written: a Ctrl-C at a known point of a run that logs to it.
/// </summary>
internal sealed class StoppingWriter(string text, CancellationTokenSource stop, TextWriter inner) : TextWriter
{
    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value) => inner.Write(value);

    public override void WriteLine(string? value)
    {
        inner.WriteLine(value);
        if (value?.Contains(text, StringComparison.Ordinal) == true)
        {
            stop.Cancel();
        }
    }
}
