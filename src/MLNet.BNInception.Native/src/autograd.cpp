// Gradient tracking, backward, and the thread-local grad and inference modes.
#include <c10/core/GradMode.h>
#include <c10/core/InferenceMode.h>

#include "common.h"

using bni::optional_tensor;
using bni::tensor;
using bni::wrap;

extern "C" {

int32_t bni_tensor_requires_grad(const bni_tensor* x) { return tensor(x).requires_grad() ? 1 : 0; }

bni_error* bni_tensor_set_requires_grad(bni_tensor* x, int32_t requires_grad) {
  BNI_TRY(tensor(x).requires_grad_(requires_grad != 0))
}

bni_error* bni_tensor_backward(const bni_tensor* x, const bni_tensor* gradient, int32_t retain_graph) {
  BNI_TRY(tensor(x).backward(optional_tensor(gradient).value_or(at::Tensor()), retain_graph != 0))
}

// *out is NULL when the tensor has no gradient yet.
bni_error* bni_tensor_grad(const bni_tensor* x, bni_tensor** out) {
  BNI_TRY({
    const at::Tensor& grad = tensor(x).grad();
    *out = grad.defined() ? wrap(grad) : nullptr;
  })
}

bni_error* bni_tensor_clear_grad(bni_tensor* x) { BNI_TRY(tensor(x).mutable_grad().reset()) }

int32_t bni_grad_mode_enabled(void) { return c10::GradMode::is_enabled() ? 1 : 0; }

void bni_grad_mode_set(int32_t enabled) { c10::GradMode::set_enabled(enabled != 0); }

// InferenceMode is an RAII guard over thread-local state; it lives on the heap here so that C# can
// hold it across calls. The C# side guarantees it is released on the thread that entered it.
bni_error* bni_inference_mode_enter(bni_guard** out) {
  BNI_TRY(*out = reinterpret_cast<bni_guard*>(new c10::InferenceMode(true)))
}

void bni_inference_mode_exit(bni_guard* guard) { delete reinterpret_cast<c10::InferenceMode*>(guard); }

int32_t bni_inference_mode_enabled(void) { return c10::InferenceMode::is_enabled() ? 1 : 0; }

}  // extern "C"
