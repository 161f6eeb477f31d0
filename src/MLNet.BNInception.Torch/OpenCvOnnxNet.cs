using MLNet.BNInception.Torch.Interop;

namespace MLNet.BNInception.Torch;

/// <summary>
/// An ONNX file loaded by OpenCV's DNN module (OpenCV 4.6, CPU): a runtime independent of libtorch,
/// used to check that exported models score the same elsewhere. Not thread-safe: use one per thread.
/// </summary>
public sealed class OpenCvOnnxNet : IDisposable
{
    private readonly DnnNetHandle _handle;

    private OpenCvOnnxNet(DnnNetHandle handle) => _handle = handle;

    /// <summary>Reads an ONNX file; OpenCV's own message explains a file it cannot read.</summary>
    /// <exception cref="TorchException">OpenCV could not import the file.</exception>
    public static OpenCvOnnxNet Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No ONNX file at {path}.", path);
        }

        NativeStatus.Check(NativeMethods.bni_dnn_read_onnx(path, out IntPtr net));
        return new OpenCvOnnxNet(new DnnNetHandle(net));
    }

    /// <summary>Runs the network on float32 N × C × H × W <paramref name="input"/> and returns the named output (default: the last).</summary>
    public Tensor Forward(Tensor input, string? outputName = null)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        ArgumentNullException.ThrowIfNull(input);
        return NativeStatus.Tensor(NativeMethods.bni_dnn_forward(_handle, input.Handle, outputName, out IntPtr r), r);
    }

    /// <summary>Frees the network.</summary>
    public void Dispose() => _handle.Dispose();
}
