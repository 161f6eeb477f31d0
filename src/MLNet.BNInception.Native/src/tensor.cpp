// Tensor creation, metadata, data transfer, views and copies.
#include <cstring>

#include "common.h"

using bni::tensor;
using bni::wrap;

extern "C" {

void bni_tensor_free(bni_tensor* handle) { delete reinterpret_cast<at::Tensor*>(handle); }

bni_error* bni_tensor_from_data(const void* data, int8_t dtype, const int64_t* sizes, int32_t ndim, bni_tensor** out) {
  BNI_TRY({
    at::Tensor result = at::empty(bni::dims(sizes, ndim), at::TensorOptions().dtype(bni::scalar_type(dtype)));
    std::memcpy(result.data_ptr(), data, result.nbytes());
    *out = wrap(std::move(result));
  })
}

bni_error* bni_tensor_full(const int64_t* sizes, int32_t ndim, int8_t dtype, double value, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::full(bni::dims(sizes, ndim), value, at::TensorOptions().dtype(bni::scalar_type(dtype)))))
}

bni_error* bni_tensor_arange(double start, double end, double step, int8_t dtype, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::arange(start, end, step, at::TensorOptions().dtype(bni::scalar_type(dtype)))))
}

int32_t bni_tensor_ndim(const bni_tensor* handle) { return static_cast<int32_t>(tensor(handle).dim()); }

void bni_tensor_sizes(const bni_tensor* handle, int64_t* out) {
  auto sizes = tensor(handle).sizes();
  std::copy(sizes.begin(), sizes.end(), out);
}

void bni_tensor_strides(const bni_tensor* handle, int64_t* out) {
  auto strides = tensor(handle).strides();
  std::copy(strides.begin(), strides.end(), out);
}

int64_t bni_tensor_storage_offset(const bni_tensor* handle) { return tensor(handle).storage_offset(); }

int8_t bni_tensor_dtype(const bni_tensor* handle) { return static_cast<int8_t>(tensor(handle).scalar_type()); }

int64_t bni_tensor_numel(const bni_tensor* handle) { return tensor(handle).numel(); }

int32_t bni_tensor_is_contiguous(const bni_tensor* handle) { return tensor(handle).is_contiguous() ? 1 : 0; }

void* bni_tensor_data_ptr(const bni_tensor* handle) { return tensor(handle).data_ptr(); }

bni_error* bni_tensor_copy_to_buffer(const bni_tensor* handle, void* buffer, int64_t bytes) {
  BNI_TRY({
    at::Tensor source = tensor(handle).contiguous();
    TORCH_CHECK(static_cast<int64_t>(source.nbytes()) == bytes, "destination holds ", bytes,
                " bytes but the tensor has ", source.nbytes());
    std::memcpy(buffer, source.data_ptr(), source.nbytes());
  })
}

bni_error* bni_tensor_item(const bni_tensor* handle, double* out) { BNI_TRY(*out = tensor(handle).item<double>()) }

bni_error* bni_tensor_item_int64(const bni_tensor* handle, int64_t* out) {
  BNI_TRY(*out = tensor(handle).item<int64_t>())
}

bni_error* bni_tensor_to_dtype(const bni_tensor* handle, int8_t dtype, bni_tensor** out) {
  BNI_TRY(*out = wrap(tensor(handle).to(bni::scalar_type(dtype))))
}

// A second handle to the same tensor (same data, same autograd history).
bni_error* bni_tensor_alias(const bni_tensor* handle, bni_tensor** out) { BNI_TRY(*out = wrap(tensor(handle))) }

bni_error* bni_tensor_clone(const bni_tensor* handle, bni_tensor** out) { BNI_TRY(*out = wrap(tensor(handle).clone())) }

bni_error* bni_tensor_contiguous(const bni_tensor* handle, bni_tensor** out) {
  BNI_TRY(*out = wrap(tensor(handle).contiguous()))
}

bni_error* bni_tensor_detach(const bni_tensor* handle, bni_tensor** out) { BNI_TRY(*out = wrap(tensor(handle).detach())) }

bni_error* bni_tensor_reshape(const bni_tensor* handle, const int64_t* sizes, int32_t ndim, bni_tensor** out) {
  BNI_TRY(*out = wrap(tensor(handle).reshape(bni::dims(sizes, ndim))))
}

bni_error* bni_tensor_permute(const bni_tensor* handle, const int64_t* dims, int32_t ndim, bni_tensor** out) {
  BNI_TRY(*out = wrap(tensor(handle).permute(bni::dims(dims, ndim))))
}

bni_error* bni_tensor_flatten(const bni_tensor* handle, int64_t start_dim, int64_t end_dim, bni_tensor** out) {
  BNI_TRY(*out = wrap(tensor(handle).flatten(start_dim, end_dim)))
}

bni_error* bni_tensor_transpose(const bni_tensor* handle, int64_t dim0, int64_t dim1, bni_tensor** out) {
  BNI_TRY(*out = wrap(tensor(handle).transpose(dim0, dim1)))
}

bni_error* bni_tensor_unsqueeze(const bni_tensor* handle, int64_t dim, bni_tensor** out) {
  BNI_TRY(*out = wrap(tensor(handle).unsqueeze(dim)))
}

bni_error* bni_tensor_squeeze(const bni_tensor* handle, int64_t dim, bni_tensor** out) {
  BNI_TRY(*out = wrap(tensor(handle).squeeze(dim)))
}

bni_error* bni_tensor_expand(const bni_tensor* handle, const int64_t* sizes, int32_t ndim, bni_tensor** out) {
  BNI_TRY(*out = wrap(tensor(handle).expand(bni::dims(sizes, ndim))))
}

bni_error* bni_tensor_select(const bni_tensor* handle, int64_t dim, int64_t index, bni_tensor** out) {
  BNI_TRY(*out = wrap(tensor(handle).select(dim, index)))
}

bni_error* bni_tensor_slice(const bni_tensor* handle, int64_t dim, int64_t start, int64_t end, int64_t step, bni_tensor** out) {
  BNI_TRY(*out = wrap(tensor(handle).slice(dim, start, end, step)))
}

bni_error* bni_tensor_index_select(const bni_tensor* handle, int64_t dim, const bni_tensor* index, bni_tensor** out) {
  BNI_TRY(*out = wrap(tensor(handle).index_select(dim, tensor(index))))
}

bni_error* bni_tensor_as_strided(const bni_tensor* handle, const int64_t* sizes, const int64_t* strides, int32_t ndim,
                                 int64_t offset, bni_tensor** out) {
  BNI_TRY(*out = wrap(tensor(handle).as_strided(bni::dims(sizes, ndim), bni::dims(strides, ndim), offset)))
}

bni_error* bni_tensor_copy_(bni_tensor* destination, const bni_tensor* source) {
  BNI_TRY(tensor(destination).copy_(tensor(source)))
}

bni_error* bni_tensor_fill_(bni_tensor* handle, double value) { BNI_TRY(tensor(handle).fill_(value)) }

bni_error* bni_tensor_equal(const bni_tensor* a, const bni_tensor* b, int32_t* out) {
  BNI_TRY(*out = at::equal(tensor(a), tensor(b)) ? 1 : 0)
}

static std::vector<at::Tensor> tensor_list(const bni_tensor* const* handles, int32_t count) {
  std::vector<at::Tensor> list;
  list.reserve(static_cast<size_t>(count));
  for (int32_t i = 0; i < count; ++i) list.push_back(tensor(handles[i]));
  return list;
}

bni_error* bni_cat(const bni_tensor* const* handles, int32_t count, int64_t dim, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::cat(tensor_list(handles, count), dim)))
}

bni_error* bni_stack(const bni_tensor* const* handles, int32_t count, int64_t dim, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::stack(tensor_list(handles, count), dim)))
}

}  // extern "C"
