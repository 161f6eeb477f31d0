using System.Runtime.InteropServices;

namespace MLNet.BNInception.Torch.Interop;

/// <summary>Owns one OpenCV DNN network held by the shim.</summary>
internal sealed class DnnNetHandle : SafeHandle
{
    public DnnNetHandle(IntPtr handle)
        : base(IntPtr.Zero, ownsHandle: true) => SetHandle(handle);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.bni_dnn_free(handle);
        return true;
    }
}
