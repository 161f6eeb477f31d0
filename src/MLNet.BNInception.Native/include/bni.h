/* C ABI of the MLNet.BNInception native shim over libtorch.
 *
 * Conventions, shared by every export:
 *  - A function that can fail returns bni_error*: NULL on success, otherwise an error the caller
 *    reads with bni_error_message and frees with bni_error_free. No C++ exception crosses this ABI.
 *  - Results come back through out-parameters. A returned tensor is a new handle the caller owns
 *    and frees with bni_tensor_free.
 *  - dtype arguments are c10::ScalarType codes (Byte=0, Char=1, Short=2, Int=3, Long=4, Half=5,
 *    Float=6, Double=7, Bool=11, BFloat16=15).
 *  - Optional tensor arguments are NULL when absent.
 */
#ifndef BNI_H
#define BNI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(BNI_BUILDING)
#define BNI_API __attribute__((visibility("default")))
#else
#define BNI_API
#endif

/* Bump on any change of an existing signature; the C# binding refuses a library with another value. */
#define BNI_ABI_VERSION 3

typedef struct bni_error bni_error;
typedef struct bni_tensor bni_tensor;
typedef struct bni_guard bni_guard;
typedef struct bni_dnn_net bni_dnn_net;
typedef struct bni_image bni_image;
typedef struct bni_buffer bni_buffer;

/* runtime.cpp */
BNI_API int32_t bni_abi_version(void);
BNI_API const char* bni_error_message(const bni_error* error);
BNI_API void bni_error_free(bni_error* error);
BNI_API bni_error* bni_torch_version(char* buffer, int32_t capacity);
BNI_API bni_error* bni_set_num_threads(int32_t count);
BNI_API int32_t bni_get_num_threads(void);

/* tensor.cpp */
BNI_API void bni_tensor_free(bni_tensor* tensor);
BNI_API bni_error* bni_tensor_from_data(const void* data, int8_t dtype, const int64_t* sizes, int32_t ndim, bni_tensor** out);
BNI_API bni_error* bni_tensor_full(const int64_t* sizes, int32_t ndim, int8_t dtype, double value, bni_tensor** out);
BNI_API bni_error* bni_tensor_arange(double start, double end, double step, int8_t dtype, bni_tensor** out);
BNI_API int32_t bni_tensor_ndim(const bni_tensor* tensor);
BNI_API void bni_tensor_sizes(const bni_tensor* tensor, int64_t* out);
BNI_API void bni_tensor_strides(const bni_tensor* tensor, int64_t* out);
BNI_API int64_t bni_tensor_storage_offset(const bni_tensor* tensor);
BNI_API int8_t bni_tensor_dtype(const bni_tensor* tensor);
BNI_API int64_t bni_tensor_numel(const bni_tensor* tensor);
BNI_API int32_t bni_tensor_is_contiguous(const bni_tensor* tensor);
BNI_API void* bni_tensor_data_ptr(const bni_tensor* tensor);
BNI_API bni_error* bni_tensor_copy_to_buffer(const bni_tensor* tensor, void* buffer, int64_t bytes);
BNI_API bni_error* bni_tensor_item(const bni_tensor* tensor, double* out);
BNI_API bni_error* bni_tensor_item_int64(const bni_tensor* tensor, int64_t* out);
BNI_API bni_error* bni_tensor_to_dtype(const bni_tensor* tensor, int8_t dtype, bni_tensor** out);
BNI_API bni_error* bni_tensor_alias(const bni_tensor* tensor, bni_tensor** out);
BNI_API bni_error* bni_tensor_clone(const bni_tensor* tensor, bni_tensor** out);
BNI_API bni_error* bni_tensor_contiguous(const bni_tensor* tensor, bni_tensor** out);
BNI_API bni_error* bni_tensor_detach(const bni_tensor* tensor, bni_tensor** out);
BNI_API bni_error* bni_tensor_reshape(const bni_tensor* tensor, const int64_t* sizes, int32_t ndim, bni_tensor** out);
BNI_API bni_error* bni_tensor_permute(const bni_tensor* tensor, const int64_t* dims, int32_t ndim, bni_tensor** out);
BNI_API bni_error* bni_tensor_flatten(const bni_tensor* tensor, int64_t start_dim, int64_t end_dim, bni_tensor** out);
BNI_API bni_error* bni_tensor_transpose(const bni_tensor* tensor, int64_t dim0, int64_t dim1, bni_tensor** out);
BNI_API bni_error* bni_tensor_unsqueeze(const bni_tensor* tensor, int64_t dim, bni_tensor** out);
BNI_API bni_error* bni_tensor_squeeze(const bni_tensor* tensor, int64_t dim, bni_tensor** out);
BNI_API bni_error* bni_tensor_expand(const bni_tensor* tensor, const int64_t* sizes, int32_t ndim, bni_tensor** out);
BNI_API bni_error* bni_tensor_select(const bni_tensor* tensor, int64_t dim, int64_t index, bni_tensor** out);
BNI_API bni_error* bni_tensor_slice(const bni_tensor* tensor, int64_t dim, int64_t start, int64_t end, int64_t step, bni_tensor** out);
BNI_API bni_error* bni_tensor_index_select(const bni_tensor* tensor, int64_t dim, const bni_tensor* index, bni_tensor** out);
BNI_API bni_error* bni_tensor_as_strided(const bni_tensor* tensor, const int64_t* sizes, const int64_t* strides, int32_t ndim, int64_t offset, bni_tensor** out);
BNI_API bni_error* bni_tensor_copy_(bni_tensor* destination, const bni_tensor* source);
BNI_API bni_error* bni_tensor_fill_(bni_tensor* tensor, double value);
BNI_API bni_error* bni_tensor_equal(const bni_tensor* a, const bni_tensor* b, int32_t* out);
BNI_API bni_error* bni_cat(const bni_tensor* const* tensors, int32_t count, int64_t dim, bni_tensor** out);
BNI_API bni_error* bni_stack(const bni_tensor* const* tensors, int32_t count, int64_t dim, bni_tensor** out);

/* math.cpp: elementwise arithmetic and reductions. Operation codes are listed in math.cpp and
 * mirrored by the C# enums UnaryOp and BinaryOp. */
BNI_API bni_error* bni_unary(int32_t op, const bni_tensor* tensor, bni_tensor** out);
BNI_API bni_error* bni_unary_(int32_t op, bni_tensor* tensor);
BNI_API bni_error* bni_binary(int32_t op, const bni_tensor* a, const bni_tensor* b, bni_tensor** out);
BNI_API bni_error* bni_binary_(int32_t op, bni_tensor* a, const bni_tensor* b);
BNI_API bni_error* bni_binary_scalar(int32_t op, const bni_tensor* a, double b, bni_tensor** out);
BNI_API bni_error* bni_binary_scalar_(int32_t op, bni_tensor* a, double b);
BNI_API bni_error* bni_add_scaled_(bni_tensor* a, const bni_tensor* b, double alpha);
BNI_API bni_error* bni_clamp(const bni_tensor* tensor, double min, double max, bni_tensor** out);
BNI_API bni_error* bni_matmul(const bni_tensor* a, const bni_tensor* b, bni_tensor** out);
BNI_API bni_error* bni_where(const bni_tensor* condition, const bni_tensor* a, const bni_tensor* b, bni_tensor** out);
BNI_API bni_error* bni_reduce(int32_t op, const bni_tensor* tensor, const int64_t* dims, int32_t ndims, int32_t keepdim, bni_tensor** out);
BNI_API bni_error* bni_var(const bni_tensor* tensor, const int64_t* dims, int32_t ndims, int32_t unbiased, int32_t keepdim, bni_tensor** out);
BNI_API bni_error* bni_max_dim(const bni_tensor* tensor, int64_t dim, int32_t keepdim, bni_tensor** values, bni_tensor** indices);
BNI_API bni_error* bni_argmax(const bni_tensor* tensor, int64_t dim, int32_t keepdim, bni_tensor** out);
BNI_API bni_error* bni_topk(const bni_tensor* tensor, int64_t k, int64_t dim, int32_t largest, int32_t sorted, bni_tensor** values, bni_tensor** indices);

/* nn.cpp: the functional layer operations BN-Inception needs. */
BNI_API bni_error* bni_conv2d(const bni_tensor* input, const bni_tensor* weight, const bni_tensor* bias,
                              const int64_t* stride, const int64_t* padding, const int64_t* dilation, int64_t groups, bni_tensor** out);
BNI_API bni_error* bni_batch_norm(const bni_tensor* input, const bni_tensor* weight, const bni_tensor* bias,
                                  bni_tensor* running_mean, bni_tensor* running_var, int32_t training,
                                  double momentum, double eps, bni_tensor** out);
BNI_API bni_error* bni_max_pool2d(const bni_tensor* input, const int64_t* kernel, const int64_t* stride,
                                  const int64_t* padding, const int64_t* dilation, int32_t ceil_mode, bni_tensor** out);
BNI_API bni_error* bni_avg_pool2d(const bni_tensor* input, const int64_t* kernel, const int64_t* stride,
                                  const int64_t* padding, int32_t ceil_mode, int32_t count_include_pad, bni_tensor** out);
BNI_API bni_error* bni_adaptive_avg_pool2d(const bni_tensor* input, const int64_t* output_size, bni_tensor** out);
BNI_API bni_error* bni_linear(const bni_tensor* input, const bni_tensor* weight, const bni_tensor* bias, bni_tensor** out);
BNI_API bni_error* bni_dropout(const bni_tensor* input, double p, int32_t training, bni_tensor** out);
BNI_API bni_error* bni_softmax(const bni_tensor* input, int64_t dim, bni_tensor** out);
BNI_API bni_error* bni_log_softmax(const bni_tensor* input, int64_t dim, bni_tensor** out);
BNI_API bni_error* bni_cross_entropy(const bni_tensor* input, const bni_tensor* target, const bni_tensor* weight,
                                     int64_t reduction, int64_t ignore_index, double label_smoothing, bni_tensor** out);
BNI_API bni_error* bni_interpolate_bilinear(const bni_tensor* input, const int64_t* output_size, int32_t align_corners,
                                            int32_t antialias, bni_tensor** out);

/* autograd.cpp */
BNI_API int32_t bni_tensor_requires_grad(const bni_tensor* tensor);
BNI_API bni_error* bni_tensor_set_requires_grad(bni_tensor* tensor, int32_t requires_grad);
BNI_API bni_error* bni_tensor_backward(const bni_tensor* tensor, const bni_tensor* gradient, int32_t retain_graph);
BNI_API bni_error* bni_tensor_grad(const bni_tensor* tensor, bni_tensor** out);
BNI_API bni_error* bni_tensor_clear_grad(bni_tensor* tensor);
BNI_API int32_t bni_grad_mode_enabled(void);
BNI_API void bni_grad_mode_set(int32_t enabled);
BNI_API bni_error* bni_inference_mode_enter(bni_guard** out);
BNI_API void bni_inference_mode_exit(bni_guard* guard);
BNI_API int32_t bni_inference_mode_enabled(void);

/* random.cpp */
BNI_API bni_error* bni_manual_seed(uint64_t seed);
BNI_API bni_error* bni_rand(const int64_t* sizes, int32_t ndim, int8_t dtype, bni_tensor** out);
BNI_API bni_error* bni_randn(const int64_t* sizes, int32_t ndim, int8_t dtype, bni_tensor** out);
BNI_API bni_error* bni_randint(int64_t low, int64_t high, const int64_t* sizes, int32_t ndim, bni_tensor** out);
BNI_API bni_error* bni_randperm(int64_t n, bni_tensor** out);
BNI_API bni_error* bni_normal_(bni_tensor* tensor, double mean, double std);
BNI_API bni_error* bni_uniform_(bni_tensor* tensor, double low, double high);
BNI_API bni_error* bni_rng_get_state(bni_tensor** out);
BNI_API bni_error* bni_rng_set_state(const bni_tensor* state);

/* dnn.cpp: OpenCV's DNN module, an ONNX runtime independent of libtorch. */
BNI_API bni_error* bni_dnn_read_onnx(const char* path, bni_dnn_net** out);
BNI_API void bni_dnn_free(bni_dnn_net* net);
/* Runs the network on a float32 NCHW tensor; output_name NULL means the network's last output. */
BNI_API bni_error* bni_dnn_forward(bni_dnn_net* net, const bni_tensor* input, const char* output_name, bni_tensor** out);

/* image.cpp: OpenCV's imgcodecs and imgproc on 8-bit interleaved images (rows top to bottom, BGR
 * channel order, no row padding). Pixel buffers passed in stay the caller's; they are only read or
 * written during the call. */
/* Decodes as cv::imdecode(IMREAD_COLOR) does: always 3-channel BGR. *out is NULL, and no error is
 * returned, when OpenCV recognises no format or its decoder gives up on the bytes. */
BNI_API bni_error* bni_image_decode(const uint8_t* data, int64_t length, bni_image** out);
BNI_API void bni_image_free(bni_image* image);
BNI_API void bni_image_size(const bni_image* image, int32_t* width, int32_t* height, int32_t* channels);
/* Copies the pixels into buffer, which holds exactly width * height * channels bytes. */
BNI_API bni_error* bni_image_copy_to(const bni_image* image, uint8_t* buffer, int64_t bytes);
/* cv::resize of the region (x, y, roi_width, roi_height) of source into destination.
 * interpolation is a cv::InterpolationFlags code (NEAREST=0, LINEAR=1, CUBIC=2, AREA=3). */
BNI_API bni_error* bni_image_resize(const uint8_t* source, int32_t width, int32_t height, int32_t channels,
                                    int32_t x, int32_t y, int32_t roi_width, int32_t roi_height,
                                    uint8_t* destination, int32_t target_width, int32_t target_height, int32_t interpolation);
/* cv::imencode(".png"); the caller reads the bytes with bni_buffer_data / bni_buffer_size and frees them. */
BNI_API bni_error* bni_image_encode_png(const uint8_t* pixels, int32_t width, int32_t height, int32_t channels, bni_buffer** out);
BNI_API const uint8_t* bni_buffer_data(const bni_buffer* buffer);
BNI_API int64_t bni_buffer_size(const bni_buffer* buffer);
BNI_API void bni_buffer_free(bni_buffer* buffer);

#ifdef __cplusplus
}
#endif

#endif /* BNI_H */
