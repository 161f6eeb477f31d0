using System.Runtime.InteropServices;

namespace MLNet.BNInception.Torch.Interop;

/// <summary>
/// Turns the shim's error objects into .NET exceptions. Every native call that can fail goes through
/// <see cref="Check"/>, so no call site inspects a status by hand.
/// </summary>
internal static class NativeStatus
{
    public static void Check(IntPtr error)
    {
        if (error == IntPtr.Zero)
        {
            return;
        }

        string message;
        try
        {
            message = Marshal.PtrToStringUTF8(NativeMethods.bni_error_message(error)) ?? "unknown native error";
        }
        finally
        {
            NativeMethods.bni_error_free(error);
        }

        throw new TorchException(message);
    }

    /// <summary>Checks the status and wraps the returned handle in a <see cref="Tensor"/>.</summary>
    public static Tensor Tensor(IntPtr error, IntPtr result)
    {
        Check(error);
        return new Tensor(result);
    }
}
