using System.Runtime.InteropServices;

namespace MLNet.BNInception.Torch.Interop;

/// <summary>
/// Raw declarations of the shim's C ABI (src/MLNet.BNInception.Native/include/bni.h). Functions
/// returning <see cref="IntPtr"/> named <c>error</c> return a <c>bni_error*</c>: pass it to
/// <see cref="NativeStatus.Check"/>. Nothing outside the binding sees these.
/// </summary>
internal static unsafe partial class NativeMethods
{
    public const string LibraryName = "bninception_native";

    /// <summary>The ABI version this binding was written against; must equal the shim's BNI_ABI_VERSION.</summary>
    public const int AbiVersion = 3;

    static NativeMethods() => NativeLibraryResolver.Register(typeof(NativeMethods).Assembly);

    // runtime.cpp
    [LibraryImport(LibraryName)] public static partial int bni_abi_version();
    [LibraryImport(LibraryName)] public static partial IntPtr bni_error_message(IntPtr error);
    [LibraryImport(LibraryName)] public static partial void bni_error_free(IntPtr error);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_torch_version(byte* buffer, int capacity);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_set_num_threads(int count);
    [LibraryImport(LibraryName)] public static partial int bni_get_num_threads();

    // tensor.cpp
    [LibraryImport(LibraryName)] public static partial void bni_tensor_free(IntPtr tensor);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_from_data(void* data, sbyte dtype, long[] sizes, int ndim, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_full(long[] sizes, int ndim, sbyte dtype, double value, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_arange(double start, double end, double step, sbyte dtype, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial int bni_tensor_ndim(TensorHandle tensor);
    [LibraryImport(LibraryName)] public static partial void bni_tensor_sizes(TensorHandle tensor, long* result);
    [LibraryImport(LibraryName)] public static partial void bni_tensor_strides(TensorHandle tensor, long* result);
    [LibraryImport(LibraryName)] public static partial long bni_tensor_storage_offset(TensorHandle tensor);
    [LibraryImport(LibraryName)] public static partial sbyte bni_tensor_dtype(TensorHandle tensor);
    [LibraryImport(LibraryName)] public static partial long bni_tensor_numel(TensorHandle tensor);
    [LibraryImport(LibraryName)] public static partial int bni_tensor_is_contiguous(TensorHandle tensor);
    [LibraryImport(LibraryName)] public static partial void* bni_tensor_data_ptr(TensorHandle tensor);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_copy_to_buffer(TensorHandle tensor, void* buffer, long bytes);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_item(TensorHandle tensor, out double result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_item_int64(TensorHandle tensor, out long result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_to_dtype(TensorHandle tensor, sbyte dtype, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_alias(TensorHandle tensor, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_clone(TensorHandle tensor, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_contiguous(TensorHandle tensor, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_detach(TensorHandle tensor, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_reshape(TensorHandle tensor, long[] sizes, int ndim, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_permute(TensorHandle tensor, long[] dims, int ndim, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_flatten(TensorHandle tensor, long startDim, long endDim, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_transpose(TensorHandle tensor, long dim0, long dim1, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_unsqueeze(TensorHandle tensor, long dim, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_squeeze(TensorHandle tensor, long dim, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_expand(TensorHandle tensor, long[] sizes, int ndim, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_select(TensorHandle tensor, long dim, long index, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_slice(TensorHandle tensor, long dim, long start, long end, long step, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_index_select(TensorHandle tensor, long dim, TensorHandle index, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_as_strided(TensorHandle tensor, long[] sizes, long[] strides, int ndim, long offset, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_copy_(TensorHandle destination, TensorHandle source);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_fill_(TensorHandle tensor, double value);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_equal(TensorHandle a, TensorHandle b, out int result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_cat(IntPtr* tensors, int count, long dim, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_stack(IntPtr* tensors, int count, long dim, out IntPtr result);

    // math.cpp
    [LibraryImport(LibraryName)] public static partial IntPtr bni_unary(int op, TensorHandle tensor, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_unary_(int op, TensorHandle tensor);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_binary(int op, TensorHandle a, TensorHandle b, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_binary_(int op, TensorHandle a, TensorHandle b);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_binary_scalar(int op, TensorHandle a, double b, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_binary_scalar_(int op, TensorHandle a, double b);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_add_scaled_(TensorHandle a, TensorHandle b, double alpha);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_clamp(TensorHandle tensor, double min, double max, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_matmul(TensorHandle a, TensorHandle b, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_where(TensorHandle condition, TensorHandle a, TensorHandle b, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_reduce(int op, TensorHandle tensor, long[] dims, int ndims, int keepdim, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_var(TensorHandle tensor, long[] dims, int ndims, int unbiased, int keepdim, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_max_dim(TensorHandle tensor, long dim, int keepdim, out IntPtr values, out IntPtr indices);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_argmax(TensorHandle tensor, long dim, int keepdim, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_topk(TensorHandle tensor, long k, long dim, int largest, int sorted, out IntPtr values, out IntPtr indices);

    // nn.cpp
    [LibraryImport(LibraryName)] public static partial IntPtr bni_conv2d(TensorHandle input, TensorHandle weight, TensorHandle bias, long[] stride, long[] padding, long[] dilation, long groups, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_batch_norm(TensorHandle input, TensorHandle weight, TensorHandle bias, TensorHandle runningMean, TensorHandle runningVar, int training, double momentum, double eps, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_max_pool2d(TensorHandle input, long[] kernel, long[] stride, long[] padding, long[] dilation, int ceilMode, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_avg_pool2d(TensorHandle input, long[] kernel, long[] stride, long[] padding, int ceilMode, int countIncludePad, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_adaptive_avg_pool2d(TensorHandle input, long[] outputSize, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_linear(TensorHandle input, TensorHandle weight, TensorHandle bias, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_dropout(TensorHandle input, double p, int training, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_softmax(TensorHandle input, long dim, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_log_softmax(TensorHandle input, long dim, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_cross_entropy(TensorHandle input, TensorHandle target, TensorHandle weight, long reduction, long ignoreIndex, double labelSmoothing, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_interpolate_bilinear(TensorHandle input, long[] outputSize, int alignCorners, int antialias, out IntPtr result);

    // autograd.cpp
    [LibraryImport(LibraryName)] public static partial int bni_tensor_requires_grad(TensorHandle tensor);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_set_requires_grad(TensorHandle tensor, int requiresGrad);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_backward(TensorHandle tensor, TensorHandle gradient, int retainGraph);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_grad(TensorHandle tensor, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_tensor_clear_grad(TensorHandle tensor);
    [LibraryImport(LibraryName)] public static partial int bni_grad_mode_enabled();
    [LibraryImport(LibraryName)] public static partial void bni_grad_mode_set(int enabled);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_inference_mode_enter(out IntPtr guard);
    [LibraryImport(LibraryName)] public static partial void bni_inference_mode_exit(IntPtr guard);
    [LibraryImport(LibraryName)] public static partial int bni_inference_mode_enabled();

    // random.cpp
    [LibraryImport(LibraryName)] public static partial IntPtr bni_manual_seed(ulong seed);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_rand(long[] sizes, int ndim, sbyte dtype, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_randn(long[] sizes, int ndim, sbyte dtype, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_randint(long low, long high, long[] sizes, int ndim, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_randperm(long n, out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_normal_(TensorHandle tensor, double mean, double std);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_uniform_(TensorHandle tensor, double low, double high);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_rng_get_state(out IntPtr result);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_rng_set_state(TensorHandle state);

    // dnn.cpp
    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)] public static partial IntPtr bni_dnn_read_onnx(string path, out IntPtr net);
    [LibraryImport(LibraryName)] public static partial void bni_dnn_free(IntPtr net);
    [LibraryImport(LibraryName, StringMarshalling = StringMarshalling.Utf8)] public static partial IntPtr bni_dnn_forward(DnnNetHandle net, TensorHandle input, string? outputName, out IntPtr result);

    // image.cpp
    [LibraryImport(LibraryName)] public static partial IntPtr bni_image_decode(byte* data, long length, out IntPtr image);
    [LibraryImport(LibraryName)] public static partial void bni_image_free(IntPtr image);
    [LibraryImport(LibraryName)] public static partial void bni_image_size(ImageHandle image, out int width, out int height, out int channels);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_image_copy_to(ImageHandle image, byte* buffer, long bytes);
    [LibraryImport(LibraryName)]
    public static partial IntPtr bni_image_resize(byte* source, int width, int height, int channels, int x, int y, int roiWidth, int roiHeight,
        byte* destination, int targetWidth, int targetHeight, int interpolation);
    [LibraryImport(LibraryName)] public static partial IntPtr bni_image_encode_png(byte* pixels, int width, int height, int channels, out IntPtr buffer);
    [LibraryImport(LibraryName)] public static partial byte* bni_buffer_data(NativeBufferHandle buffer);
    [LibraryImport(LibraryName)] public static partial long bni_buffer_size(NativeBufferHandle buffer);
    [LibraryImport(LibraryName)] public static partial void bni_buffer_free(IntPtr buffer);
}
