// Seeding, random tensors and the default generator's state (saved in checkpoints).
#include <ATen/CPUGeneratorImpl.h>

#include <mutex>

#include "common.h"

using bni::tensor;
using bni::wrap;

extern "C" {

bni_error* bni_manual_seed(uint64_t seed) { BNI_TRY(at::manual_seed(seed)) }

bni_error* bni_rand(const int64_t* sizes, int32_t ndim, int8_t dtype, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::rand(bni::dims(sizes, ndim), at::TensorOptions().dtype(bni::scalar_type(dtype)))))
}

bni_error* bni_randn(const int64_t* sizes, int32_t ndim, int8_t dtype, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::randn(bni::dims(sizes, ndim), at::TensorOptions().dtype(bni::scalar_type(dtype)))))
}

bni_error* bni_randint(int64_t low, int64_t high, const int64_t* sizes, int32_t ndim, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::randint(low, high, bni::dims(sizes, ndim), at::TensorOptions().dtype(at::kLong))))
}

bni_error* bni_randperm(int64_t n, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::randperm(n, at::TensorOptions().dtype(at::kLong))))
}

bni_error* bni_normal_(bni_tensor* x, double mean, double std) { BNI_TRY(tensor(x).normal_(mean, std)) }

bni_error* bni_uniform_(bni_tensor* x, double low, double high) { BNI_TRY(tensor(x).uniform_(low, high)) }

bni_error* bni_rng_get_state(bni_tensor** out) {
  BNI_TRY({
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    *out = wrap(generator.get_state());
  })
}

bni_error* bni_rng_set_state(const bni_tensor* state) {
  BNI_TRY({
    auto generator = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(tensor(state));
  })
}

}  // extern "C"
