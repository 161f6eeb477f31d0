using MLNet.BNInception.Torch.Interop;

namespace MLNet.BNInception.Torch;

/// <summary>Sets libtorch's thread-local grad mode and restores the previous one when disposed.</summary>
internal sealed class GradModeGuard : IDisposable
{
    private readonly bool _previous;
    private readonly int _threadId = Environment.CurrentManagedThreadId;
    private bool _disposed;

    public GradModeGuard(bool enabled)
    {
        _previous = NativeMethods.bni_grad_mode_enabled() != 0;
        NativeMethods.bni_grad_mode_set(enabled ? 1 : 0);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        // Grad mode is per thread: restoring it on another thread would change the wrong thread.
        if (Environment.CurrentManagedThreadId != _threadId)
        {
            throw new InvalidOperationException("A grad-mode guard must be disposed on the thread that created it.");
        }

        _disposed = true;
        NativeMethods.bni_grad_mode_set(_previous ? 1 : 0);
    }
}
