// Functional layer operations: each forwards to the ATen operator PyTorch's torch.nn.functional uses.
#include "common.h"

using bni::optional_tensor;
using bni::tensor;
using bni::wrap;

namespace {
at::IntArrayRef pair(const int64_t* values) { return at::IntArrayRef(values, 2); }
}  // namespace

extern "C" {

bni_error* bni_conv2d(const bni_tensor* input, const bni_tensor* weight, const bni_tensor* bias, const int64_t* stride,
                      const int64_t* padding, const int64_t* dilation, int64_t groups, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::conv2d(tensor(input), tensor(weight), optional_tensor(bias), pair(stride), pair(padding),
                                 pair(dilation), groups)))
}

// With training set and running statistics given, ATen updates running_mean and running_var in
// place with the exponential moving average, using the unbiased batch variance as PyTorch does.
bni_error* bni_batch_norm(const bni_tensor* input, const bni_tensor* weight, const bni_tensor* bias,
                          bni_tensor* running_mean, bni_tensor* running_var, int32_t training, double momentum,
                          double eps, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::batch_norm(tensor(input), optional_tensor(weight), optional_tensor(bias),
                                     optional_tensor(running_mean), optional_tensor(running_var), training != 0,
                                     momentum, eps, /*cudnn_enabled=*/false)))
}

bni_error* bni_max_pool2d(const bni_tensor* input, const int64_t* kernel, const int64_t* stride, const int64_t* padding,
                          const int64_t* dilation, int32_t ceil_mode, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::max_pool2d(tensor(input), pair(kernel), pair(stride), pair(padding), pair(dilation),
                                     ceil_mode != 0)))
}

bni_error* bni_avg_pool2d(const bni_tensor* input, const int64_t* kernel, const int64_t* stride, const int64_t* padding,
                          int32_t ceil_mode, int32_t count_include_pad, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::avg_pool2d(tensor(input), pair(kernel), pair(stride), pair(padding), ceil_mode != 0,
                                     count_include_pad != 0)))
}

bni_error* bni_adaptive_avg_pool2d(const bni_tensor* input, const int64_t* output_size, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::adaptive_avg_pool2d(tensor(input), pair(output_size))))
}

bni_error* bni_linear(const bni_tensor* input, const bni_tensor* weight, const bni_tensor* bias, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::linear(tensor(input), tensor(weight), optional_tensor(bias))))
}

bni_error* bni_dropout(const bni_tensor* input, double p, int32_t training, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::dropout(tensor(input), p, training != 0)))
}

bni_error* bni_softmax(const bni_tensor* input, int64_t dim, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::softmax(tensor(input), dim)))
}

bni_error* bni_log_softmax(const bni_tensor* input, int64_t dim, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::log_softmax(tensor(input), dim)))
}

bni_error* bni_cross_entropy(const bni_tensor* input, const bni_tensor* target, const bni_tensor* weight,
                             int64_t reduction, int64_t ignore_index, double label_smoothing, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::cross_entropy_loss(tensor(input), tensor(target), optional_tensor(weight), reduction,
                                             ignore_index, label_smoothing)))
}

bni_error* bni_interpolate_bilinear(const bni_tensor* input, const int64_t* output_size, int32_t align_corners,
                                    int32_t antialias, bni_tensor** out) {
  BNI_TRY({
    if (antialias != 0) {
      *out = wrap(at::_upsample_bilinear2d_aa(tensor(input), pair(output_size), align_corners != 0));
    } else {
      *out = wrap(at::upsample_bilinear2d(tensor(input), pair(output_size), align_corners != 0));
    }
  })
}

}  // extern "C"
