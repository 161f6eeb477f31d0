using System.Runtime.InteropServices;

namespace MLNet.BNInception.Torch.Interop;

/// <summary>Owns a byte buffer the shim filled (an encoded image), between encoding and copying it out.</summary>
internal sealed class NativeBufferHandle : SafeHandle
{
    public NativeBufferHandle(IntPtr handle)
        : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.bni_buffer_free(handle);
        return true;
    }
}
