// Elementwise arithmetic and reductions, dispatched by an operation code so that the ABI stays
// small. The codes are mirrored by the C# enums UnaryOp, BinaryOp and ReduceOp: keep them in step.
#include <cmath>

#include "common.h"

using bni::tensor;
using bni::wrap;

namespace {

enum UnaryOp { kNeg, kExp, kLog, kSqrt, kAbs, kRelu, kSigmoid, kTanh, kRsqrt, kSquare, kSign, kFloor, kIsFinite, kReciprocal };
enum BinaryOp { kAdd, kSub, kMul, kDiv, kPow, kMaximum, kMinimum, kEq, kNe, kLt, kLe, kGt, kGe };
enum ReduceOp { kSum, kMean, kAmax, kAmin };

at::Tensor unary(int32_t op, const at::Tensor& x) {
  switch (op) {
    case kNeg: return x.neg();
    case kExp: return x.exp();
    case kLog: return x.log();
    case kSqrt: return x.sqrt();
    case kAbs: return x.abs();
    case kRelu: return x.relu();
    case kSigmoid: return x.sigmoid();
    case kTanh: return x.tanh();
    case kRsqrt: return x.rsqrt();
    case kSquare: return x.square();
    case kSign: return x.sign();
    case kFloor: return x.floor();
    case kIsFinite: return x.isfinite();
    case kReciprocal: return x.reciprocal();
  }
  TORCH_CHECK(false, "unknown unary operation code ", op);
}

void unary_in_place(int32_t op, at::Tensor& x) {
  switch (op) {
    case kNeg: x.neg_(); return;
    case kExp: x.exp_(); return;
    case kLog: x.log_(); return;
    case kSqrt: x.sqrt_(); return;
    case kAbs: x.abs_(); return;
    case kRelu: x.relu_(); return;
    case kSigmoid: x.sigmoid_(); return;
    case kTanh: x.tanh_(); return;
    case kRsqrt: x.rsqrt_(); return;
    case kSquare: x.square_(); return;
    case kSign: x.sign_(); return;
    case kFloor: x.floor_(); return;
    case kReciprocal: x.reciprocal_(); return;
  }
  TORCH_CHECK(false, "unary operation code ", op, " has no in-place form");
}

at::Tensor binary(int32_t op, const at::Tensor& a, const at::Tensor& b) {
  switch (op) {
    case kAdd: return a.add(b);
    case kSub: return a.sub(b);
    case kMul: return a.mul(b);
    case kDiv: return a.div(b);
    case kPow: return a.pow(b);
    case kMaximum: return at::maximum(a, b);
    case kMinimum: return at::minimum(a, b);
    case kEq: return a.eq(b);
    case kNe: return a.ne(b);
    case kLt: return a.lt(b);
    case kLe: return a.le(b);
    case kGt: return a.gt(b);
    case kGe: return a.ge(b);
  }
  TORCH_CHECK(false, "unknown binary operation code ", op);
}

// A double coming from C# is made an integral scalar when the tensor is integral and the value is
// whole, so that int64 + 1 stays int64 as it does in Python.
at::Scalar scalar_for(const at::Tensor& x, double value) {
  if (at::isIntegralType(x.scalar_type(), /*includeBool=*/false) && std::floor(value) == value) {
    return at::Scalar(static_cast<int64_t>(value));
  }
  return at::Scalar(value);
}

at::Tensor binary_scalar(int32_t op, const at::Tensor& a, const at::Scalar& b) {
  switch (op) {
    case kAdd: return a.add(b);
    case kSub: return a.sub(b);
    case kMul: return a.mul(b);
    case kDiv: return a.div(b);
    case kPow: return a.pow(b);
    case kMaximum: return a.clamp_min(b);
    case kMinimum: return a.clamp_max(b);
    case kEq: return a.eq(b);
    case kNe: return a.ne(b);
    case kLt: return a.lt(b);
    case kLe: return a.le(b);
    case kGt: return a.gt(b);
    case kGe: return a.ge(b);
  }
  TORCH_CHECK(false, "unknown binary operation code ", op);
}

std::vector<int64_t> reduction_dims(const at::Tensor& x, const int64_t* dims, int32_t ndims) {
  if (ndims > 0) return std::vector<int64_t>(dims, dims + ndims);
  std::vector<int64_t> all(static_cast<size_t>(x.dim()));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  return all;
}

}  // namespace

extern "C" {

bni_error* bni_unary(int32_t op, const bni_tensor* x, bni_tensor** out) { BNI_TRY(*out = wrap(unary(op, tensor(x)))) }

bni_error* bni_unary_(int32_t op, bni_tensor* x) { BNI_TRY(unary_in_place(op, tensor(x))) }

bni_error* bni_binary(int32_t op, const bni_tensor* a, const bni_tensor* b, bni_tensor** out) {
  BNI_TRY(*out = wrap(binary(op, tensor(a), tensor(b))))
}

bni_error* bni_binary_(int32_t op, bni_tensor* a, const bni_tensor* b) {
  BNI_TRY({
    at::Tensor& x = tensor(a);
    switch (op) {
      case kAdd: x.add_(tensor(b)); break;
      case kSub: x.sub_(tensor(b)); break;
      case kMul: x.mul_(tensor(b)); break;
      case kDiv: x.div_(tensor(b)); break;
      default: TORCH_CHECK(false, "binary operation code ", op, " has no in-place form");
    }
  })
}

bni_error* bni_binary_scalar(int32_t op, const bni_tensor* a, double b, bni_tensor** out) {
  BNI_TRY(*out = wrap(binary_scalar(op, tensor(a), scalar_for(tensor(a), b))))
}

bni_error* bni_binary_scalar_(int32_t op, bni_tensor* a, double b) {
  BNI_TRY({
    at::Tensor& x = tensor(a);
    at::Scalar s = scalar_for(x, b);
    switch (op) {
      case kAdd: x.add_(s); break;
      case kSub: x.sub_(s); break;
      case kMul: x.mul_(s); break;
      case kDiv: x.div_(s); break;
      default: TORCH_CHECK(false, "binary operation code ", op, " has no in-place form");
    }
  })
}

bni_error* bni_add_scaled_(bni_tensor* a, const bni_tensor* b, double alpha) { BNI_TRY(tensor(a).add_(tensor(b), alpha)) }

bni_error* bni_clamp(const bni_tensor* x, double min, double max, bni_tensor** out) {
  BNI_TRY(*out = wrap(tensor(x).clamp(min, max)))
}

bni_error* bni_matmul(const bni_tensor* a, const bni_tensor* b, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::matmul(tensor(a), tensor(b))))
}

bni_error* bni_where(const bni_tensor* condition, const bni_tensor* a, const bni_tensor* b, bni_tensor** out) {
  BNI_TRY(*out = wrap(at::where(tensor(condition), tensor(a), tensor(b))))
}

bni_error* bni_reduce(int32_t op, const bni_tensor* x, const int64_t* dims, int32_t ndims, int32_t keepdim, bni_tensor** out) {
  BNI_TRY({
    const at::Tensor& t = tensor(x);
    std::vector<int64_t> d = reduction_dims(t, dims, ndims);
    bool keep = keepdim != 0;
    switch (op) {
      case kSum: *out = wrap(t.sum(d, keep)); break;
      case kMean: *out = wrap(t.mean(d, keep)); break;
      case kAmax: *out = wrap(t.amax(d, keep)); break;
      case kAmin: *out = wrap(t.amin(d, keep)); break;
      default: TORCH_CHECK(false, "unknown reduction code ", op);
    }
  })
}

bni_error* bni_var(const bni_tensor* x, const int64_t* dims, int32_t ndims, int32_t unbiased, int32_t keepdim, bni_tensor** out) {
  BNI_TRY({
    const at::Tensor& t = tensor(x);
    *out = wrap(t.var(reduction_dims(t, dims, ndims), unbiased != 0, keepdim != 0));
  })
}

bni_error* bni_max_dim(const bni_tensor* x, int64_t dim, int32_t keepdim, bni_tensor** values, bni_tensor** indices) {
  BNI_TRY({
    auto result = tensor(x).max(dim, keepdim != 0);
    *values = wrap(std::get<0>(result));
    *indices = wrap(std::get<1>(result));
  })
}

bni_error* bni_argmax(const bni_tensor* x, int64_t dim, int32_t keepdim, bni_tensor** out) {
  BNI_TRY(*out = wrap(tensor(x).argmax(dim, keepdim != 0)))
}

bni_error* bni_topk(const bni_tensor* x, int64_t k, int64_t dim, int32_t largest, int32_t sorted, bni_tensor** values,
                    bni_tensor** indices) {
  BNI_TRY({
    auto result = tensor(x).topk(k, dim, largest != 0, sorted != 0);
    *values = wrap(std::get<0>(result));
    *indices = wrap(std::get<1>(result));
  })
}

}  // extern "C"
