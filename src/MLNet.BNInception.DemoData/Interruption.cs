using System.Runtime.InteropServices;

namespace MLNet.BNInception.DemoData;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM for the demo and the experiment programs, as the bninception tool
/// takes them: the first cancels <see cref="Token"/>, which the program honours at its next safe
/// point (within a training batch, between images written, between the steps after training), so
/// that what it leaves on disk is whole; a second ends the process at once, which atomic writes
/// also survive. Without this the runtime would end the process at the first signal, losing the
/// checkpoint a training run writes when it is cancelled.
/// </summary>
public sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;
    private readonly string _program;
    private readonly TextWriter _error;

    /// <summary>Starts listening for the signals; <paramref name="program"/> prefixes the line printed at the first.</summary>
    public Interruption(string program, TextWriter error)
    {
        _program = program;
        _error = error;
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>Cancelled at the first signal.</summary>
    public CancellationToken Token => _source.Token;

    private void OnSignal(PosixSignalContext context)
    {
        if (_source.IsCancellationRequested)
        {
            return; // the default action: the process ends now
        }

        context.Cancel = true;
        _error.WriteLine($"{_program}: {context.Signal} received, stopping at the next safe point (send it again to stop at once)");
        _source.Cancel();
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _source.Dispose();
    }
}
