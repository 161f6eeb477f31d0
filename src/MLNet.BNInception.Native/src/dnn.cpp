// OpenCV's DNN module reading ONNX files: the independent runtime that checks our exports.
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <cstring>

#include "common.h"

struct bni_dnn_net {
  cv::dnn::Net net;
};

extern "C" {

bni_error* bni_dnn_read_onnx(const char* path, bni_dnn_net** out) {
  BNI_TRY({
    cv::dnn::Net net = cv::dnn::readNetFromONNX(path);
    TORCH_CHECK(!net.empty(), "OpenCV read no network from ", path);
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    *out = new bni_dnn_net{std::move(net)};
  })
}

void bni_dnn_free(bni_dnn_net* net) { delete net; }

bni_error* bni_dnn_forward(bni_dnn_net* net, const bni_tensor* input, const char* output_name, bni_tensor** out) {
  BNI_TRY({
    at::Tensor x = bni::tensor(input).contiguous();
    TORCH_CHECK(x.scalar_type() == at::kFloat && x.dim() == 4, "the DNN input must be a float32 N x C x H x W tensor");
    std::vector<int> sizes(x.sizes().begin(), x.sizes().end());
    // The blob views the tensor's memory; setInput copies it, so no lifetime ties remain.
    cv::Mat blob(static_cast<int>(sizes.size()), sizes.data(), CV_32F, x.data_ptr());
    net->net.setInput(blob);
    cv::Mat result = output_name == nullptr ? net->net.forward() : net->net.forward(output_name);
    TORCH_CHECK(result.type() == CV_32F && result.isContinuous(), "unexpected DNN output type");
    std::vector<int64_t> shape(result.size.p, result.size.p + result.dims);
    at::Tensor copy = at::empty(shape, at::kFloat);
    std::memcpy(copy.data_ptr(), result.ptr<float>(), copy.nbytes());
    *out = bni::wrap(std::move(copy));
  })
}

}  // extern "C"
