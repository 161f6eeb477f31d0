using System.Runtime.InteropServices;

namespace MLNet.BNInception.Torch.Interop;

/// <summary>Owns one decoded OpenCV image held by the shim, between decoding and copying it out.</summary>
internal sealed class ImageHandle : SafeHandle
{
    public ImageHandle(IntPtr handle)
        : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.bni_image_free(handle);
        return true;
    }
}
