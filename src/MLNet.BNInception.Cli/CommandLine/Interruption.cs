using System.Runtime.InteropServices;

namespace MLNet.BNInception.Cli.CommandLine;

/// <summary>
/// Turns the first Ctrl-C (SIGINT) or SIGTERM into a cancellation that a command which asked for it
/// (<see cref="Honour"/>: every command) honours at its next safe point (after a whole batch of
/// rows is written, after a training step, at the next row evaluated, after a model is loaded or
/// exported), so that what it leaves on disk is whole and its temporary files are removed; a second
/// signal, or any signal to a command that did not ask, ends the process at once, which the
/// scoring job's <c>--resume</c> and the trainer's checkpoint also survive.
/// </summary>
internal sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;
    private readonly TextWriter _error;

    public Interruption(TextWriter error)
    {
        _error = error;
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    private volatile bool _honoured;

    /// <summary>Asks for the first signal as a cancellation; returns its token.</summary>
    public CancellationToken Honour()
    {
        _honoured = true;
        return _source.Token;
    }

    private void OnSignal(PosixSignalContext context)
    {
        if (!_honoured || _source.IsCancellationRequested)
        {
            return; // the default action: the process ends now
        }

        context.Cancel = true;
        _error.WriteLine($"bninception: {context.Signal} received, stopping at the next safe point (send it again to stop at once)");
        _source.Cancel();
    }

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _source.Dispose();
    }
}
