using MLNet.BNInception.Torch.Interop;

namespace MLNet.BNInception.Torch;

/// <summary>Holds a native <c>c10::InferenceMode</c> guard; disposing it restores the previous mode.</summary>
internal sealed class InferenceModeGuard : IDisposable
{
    private readonly int _threadId = Environment.CurrentManagedThreadId;
    private IntPtr _guard;

    public InferenceModeGuard() => NativeStatus.Check(NativeMethods.bni_inference_mode_enter(out _guard));

    public void Dispose()
    {
        if (_guard == IntPtr.Zero)
        {
            return;
        }

        if (Environment.CurrentManagedThreadId != _threadId)
        {
            throw new InvalidOperationException("An inference-mode guard must be disposed on the thread that created it.");
        }

        NativeMethods.bni_inference_mode_exit(_guard);
        _guard = IntPtr.Zero;
    }
}
