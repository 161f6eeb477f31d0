// Shared plumbing of the shim: handle casts and the exception barrier every export goes through.
#pragma once

#include <ATen/ATen.h>

#include <exception>
#include <new>
#include <string>
#include <vector>

#include "bni.h"

struct bni_error {
  std::string message;
};

namespace bni {

// A handle is a heap-allocated at::Tensor (a reference-counted pointer to the tensor's storage),
// so freeing the handle drops one reference and never the storage other tensors still view.
inline const at::Tensor& tensor(const bni_tensor* handle) {
  return *reinterpret_cast<const at::Tensor*>(handle);
}
inline at::Tensor& tensor(bni_tensor* handle) { return *reinterpret_cast<at::Tensor*>(handle); }

inline bni_tensor* wrap(at::Tensor value) {
  return reinterpret_cast<bni_tensor*>(new at::Tensor(std::move(value)));
}

inline c10::optional<at::Tensor> optional_tensor(const bni_tensor* handle) {
  if (handle == nullptr) return c10::nullopt;
  return tensor(handle);
}

inline at::IntArrayRef dims(const int64_t* values, int32_t count) {
  return at::IntArrayRef(values, static_cast<size_t>(count));
}

inline at::ScalarType scalar_type(int8_t code) { return static_cast<at::ScalarType>(code); }

// The error returned when even allocating the error fails; bni_error_free never frees it.
extern bni_error out_of_memory_error;

inline bni_error* make_error(const char* message) {
  try {
    return new bni_error{message};
  } catch (...) {
    return &out_of_memory_error;
  }
}

}  // namespace bni

// Every export's body runs inside this barrier: libtorch reports errors as C++ exceptions, and an
// exception unwinding into the .NET runtime would abort the process. c10::Error carries libtorch's
// own message; its backtrace is left out because it is noise to a .NET user.
#define BNI_TRY(...)                                                     \
  try {                                                                  \
    __VA_ARGS__;                                                         \
    return nullptr;                                                      \
  } catch (const c10::Error& error) {                                    \
    return bni::make_error(error.what_without_backtrace());              \
  } catch (const std::exception& error) {                                \
    return bni::make_error(error.what());                                \
  } catch (...) {                                                        \
    return bni::make_error("unknown C++ exception in the native shim");  \
  }
