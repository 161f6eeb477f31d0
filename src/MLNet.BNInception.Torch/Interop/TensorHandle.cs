using System.Runtime.InteropServices;

namespace MLNet.BNInception.Torch.Interop;

/// <summary>Owns one native tensor handle (a heap-allocated <c>at::Tensor</c>) and frees it exactly once.</summary>
internal sealed class TensorHandle : SafeHandle
{
    private static long s_live;

    /// <summary>Stands for an absent optional tensor argument; never released.</summary>
    public static readonly TensorHandle Null = new();

    private TensorHandle()
        : base(IntPtr.Zero, ownsHandle: false)
    {
    }

    public TensorHandle(IntPtr handle)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle(handle);
        Interlocked.Increment(ref s_live);
    }

    /// <summary>Handles created and not yet released, in this process.</summary>
    public static long LiveCount => Interlocked.Read(ref s_live);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.bni_tensor_free(handle);
        Interlocked.Decrement(ref s_live);
        return true;
    }
}
