using MLNet.BNInception.Torch.Interop;

namespace MLNet.BNInception.Torch;

public sealed partial class Tensor
{
    /// <summary>Whether operations on this tensor are recorded for <see cref="backward"/>.</summary>
    public bool requires_grad
    {
        get => NativeMethods.bni_tensor_requires_grad(Handle) != 0;
        set => NativeStatus.Check(NativeMethods.bni_tensor_set_requires_grad(Handle, value ? 1 : 0));
    }

    /// <summary>Sets <see cref="requires_grad"/> and returns this tensor.</summary>
    public Tensor requires_grad_(bool requiresGrad = true)
    {
        requires_grad = requiresGrad;
        return this;
    }

    /// <summary>
    /// The gradient accumulated by <see cref="backward"/>, or null before any. Each read returns a new
    /// handle to the same gradient storage; dispose it (or let a scope do it).
    /// </summary>
    public Tensor? grad
    {
        get
        {
            NativeStatus.Check(NativeMethods.bni_tensor_grad(Handle, out IntPtr result));
            return result == IntPtr.Zero ? null : new Tensor(result);
        }
    }

    /// <summary>Drops the accumulated gradient (PyTorch's <c>zero_grad(set_to_none=True)</c>).</summary>
    public void clear_grad() => NativeStatus.Check(NativeMethods.bni_tensor_clear_grad(Handle));

    /// <summary>
    /// Computes the gradient of this tensor with respect to every leaf that requires grad, adding it
    /// to their <see cref="grad"/>. A non-scalar tensor needs <paramref name="gradient"/>.
    /// </summary>
    public void backward(Tensor? gradient = null, bool retain_graph = false) =>
        NativeStatus.Check(NativeMethods.bni_tensor_backward(Handle, gradient?.Handle ?? TensorHandle.Null, retain_graph ? 1 : 0));
}
