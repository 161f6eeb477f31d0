using System.Runtime.InteropServices;

namespace MLNet.BNInception.Programs;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM for this project's programs (the bninception tool, the demo, the
/// experiments): once the program asks for it (<see cref="Honour"/>), the first signal cancels a token
/// that the program honours at its next safe point (after a whole batch of rows is written, after a
/// training step, between images written), so that what it leaves on disk is whole and its temporary
/// files are removed. A second signal, or any signal before the program asked, ends the process at once,
/// which atomic writes, the scoring job's <c>--resume</c> and the trainer's checkpoint also survive.
/// Without this the runtime would end the process at the first signal, losing the checkpoint a training
/// run writes when it is cancelled. One source file compiled into each program (src/Shared): it is no
/// part of the library's API.
/// </summary>
internal sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;
    private readonly string _program;
    private readonly TextWriter _error;
    private volatile bool _honoured;

    /// <summary>Starts listening for the signals; <paramref name="program"/> prefixes the line printed at the first.</summary>
    public Interruption(string program, TextWriter error)
    {
        _program = program;
        _error = error;
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

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
        _error.WriteLine($"{_program}: {context.Signal} received, stopping at the next safe point (send it again to stop at once)");
        _source.Cancel();
    }

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _source.Dispose();
    }
}
