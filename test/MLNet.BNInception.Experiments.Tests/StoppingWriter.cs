using System.Text;

namespace MLNet.BNInception.Experiments.Tests;

/// <summary>
/// A log that passes every line on and cancels <paramref name="stop"/> once a line starting with
/// <paramref name="prefix"/> is written: a Ctrl-C at a known point of an experiment's run.
/// </summary>
internal sealed class StoppingWriter(string prefix, CancellationTokenSource stop, TextWriter inner) : TextWriter
{
    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value) => inner.Write(value);

    public override void WriteLine(string? value)
    {
        inner.WriteLine(value);
        if (value?.StartsWith(prefix, StringComparison.Ordinal) == true)
        {
            stop.Cancel();
        }
    }
}
