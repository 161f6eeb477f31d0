using System.Text;
using MLNet.BNInception.Torch.Interop;

namespace MLNet.BNInception.Torch;

/// <summary>
/// Entry point of the binding, laid out like PyTorch's <c>torch</c> module and TorchSharp's
/// <c>torch</c> class: runtime control, tensor creation, and <see cref="nn.functional"/>.
/// </summary>
public static partial class torch
{
    /// <summary>The libtorch version the shim was built against, e.g. "1.13.1".</summary>
    public static unsafe string version
    {
        get
        {
            byte* buffer = stackalloc byte[64];
            NativeStatus.Check(NativeMethods.bni_torch_version(buffer, 64));
            return Encoding.UTF8.GetString(new ReadOnlySpan<byte>(buffer, 64).TrimEnd((byte)0));
        }
    }

    /// <summary>Native tensor handles alive in this process; for leak tests.</summary>
    public static long LiveTensorCount => TensorHandle.LiveCount;

    /// <summary>Opens a <see cref="DisposeScope"/> on this thread.</summary>
    public static DisposeScope NewDisposeScope() => new();

    /// <summary>Seeds libtorch's default generator (weights' initialisation, dropout, random tensors).</summary>
    public static void manual_seed(ulong seed) => NativeStatus.Check(NativeMethods.bni_manual_seed(seed));

    /// <summary>Threads libtorch uses inside one operation. The default is every core (see BNINCEPTION_NUM_THREADS).</summary>
    public static int get_num_threads() => NativeMethods.bni_get_num_threads();

    /// <summary>Sets the threads libtorch uses inside one operation (process-wide).</summary>
    public static void set_num_threads(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        NativeStatus.Check(NativeMethods.bni_set_num_threads(threads));
    }

    /// <summary>The default generator's state, as a uint8 tensor, for checkpoints.</summary>
    public static Tensor get_rng_state() => NativeStatus.Tensor(NativeMethods.bni_rng_get_state(out IntPtr r), r);

    /// <summary>Restores a state from <see cref="get_rng_state"/>.</summary>
    public static void set_rng_state(Tensor state) => NativeStatus.Check(NativeMethods.bni_rng_set_state(state.Handle));

    /// <summary>True when operations are recorded for autograd on this thread.</summary>
    public static bool is_grad_enabled() => NativeMethods.bni_grad_mode_enabled() != 0;

    /// <summary>True inside <see cref="inference_mode"/> on this thread.</summary>
    public static bool is_inference_mode_enabled() => NativeMethods.bni_inference_mode_enabled() != 0;

    /// <summary>Stops recording for autograd on this thread until disposed (PyTorch's <c>torch.no_grad()</c>).</summary>
    public static IDisposable no_grad() => new GradModeGuard(enabled: false);

    /// <summary>Turns recording back on inside a <see cref="no_grad"/> block until disposed.</summary>
    public static IDisposable enable_grad() => new GradModeGuard(enabled: true);

    /// <summary>
    /// Inference mode on this thread until disposed: no autograd bookkeeping at all, cheaper than
    /// <see cref="no_grad"/>. Tensors made inside cannot later be used in autograd.
    /// </summary>
    public static IDisposable inference_mode() => new InferenceModeGuard();
}
