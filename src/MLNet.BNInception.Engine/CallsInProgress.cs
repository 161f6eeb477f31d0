namespace MLNet.BNInception.Engine;

/// <summary>
/// Lets an object that several threads call be disposed during a call: calls under way finish with
/// what they use, the last of them frees it, and calls that start after the Dispose are refused.
/// Freeing weights under a call would fail it halfway ("Tensor invalid") or, in a save, leave a
/// half-written file.
/// </summary>
/// <param name="free">Frees what the calls use; run once, by <see cref="Dispose"/> or by the last call to end after it.</param>
/// <param name="disposedError">The exception for a call that starts after <see cref="Dispose"/>.</param>
internal sealed class CallsInProgress(Action free, Func<Exception> disposedError)
{
    private readonly Lock _gate = new();
    private int _count;
    private bool _disposed;

    /// <summary>True once <see cref="Dispose"/> was called, whether or not a call still runs.</summary>
    public bool IsDisposed
    {
        get
        {
            lock (_gate)
            {
                return _disposed;
            }
        }
    }

    /// <summary>Throws <c>disposedError</c> once <see cref="Dispose"/> was called.</summary>
    public void ThrowIfDisposed()
    {
        if (IsDisposed)
        {
            throw disposedError();
        }
    }

    /// <summary>Runs <paramref name="call"/>, which uses what <see cref="Dispose"/> frees.</summary>
    public T Run<T>(Func<T> call)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                throw disposedError();
            }

            _count++;
        }

        try
        {
            return call();
        }
        finally
        {
            bool last;
            lock (_gate)
            {
                last = --_count == 0 && _disposed;
            }

            if (last)
            {
                free();
            }
        }
    }

    /// <inheritdoc cref="Run{T}(Func{T})"/>
    public void Run(Action call) => Run(() =>
    {
        call();
        return true;
    });

    /// <summary>Frees at once, or leaves it to the last call under way; a second call does nothing.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            if (_count > 0)
            {
                return;
            }
        }

        free();
    }
}
