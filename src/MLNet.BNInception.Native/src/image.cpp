// OpenCV's imgcodecs and imgproc: decoding, resizing and PNG encoding of 8-bit images.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <memory>
#include <vector>

#include "common.h"

struct bni_image {
  cv::Mat mat;
};

struct bni_buffer {
  std::vector<uchar> bytes;
};

namespace {

// Views caller-owned pixels as a Mat without copying; the Mat must not outlive the call.
cv::Mat view(const uint8_t* pixels, int32_t width, int32_t height, int32_t channels) {
  TORCH_CHECK(width > 0 && height > 0, "image size must be positive, got ", width, " x ", height);
  TORCH_CHECK(channels == 1 || channels == 3, "an image has 1 or 3 channels, got ", channels);
  return cv::Mat(height, width, CV_8UC(channels), const_cast<uint8_t*>(pixels));
}

}  // namespace

extern "C" {

bni_error* bni_image_decode(const uint8_t* data, int64_t length, bni_image** out) {
  BNI_TRY({
    *out = nullptr;
    TORCH_CHECK(length > 0 && length <= INT32_MAX, "cannot decode ", length, " bytes");
    // imdecode only reads the buffer; the header wrapping it takes a non-const pointer.
    cv::Mat encoded(1, static_cast<int>(length), CV_8U, const_cast<uint8_t*>(data));
    cv::Mat decoded = cv::imdecode(encoded, cv::IMREAD_COLOR);
    if (decoded.empty()) return nullptr;
    TORCH_CHECK(decoded.type() == CV_8UC3, "OpenCV decoded an unexpected pixel type ", decoded.type());
    *out = new bni_image{std::move(decoded)};
  })
}

void bni_image_free(bni_image* image) { delete image; }

void bni_image_size(const bni_image* image, int32_t* width, int32_t* height, int32_t* channels) {
  *width = image->mat.cols;
  *height = image->mat.rows;
  *channels = image->mat.channels();
}

bni_error* bni_image_copy_to(const bni_image* image, uint8_t* buffer, int64_t bytes) {
  BNI_TRY({
    const cv::Mat& mat = image->mat;
    TORCH_CHECK(bytes == static_cast<int64_t>(mat.total() * mat.elemSize()), "the buffer holds ", bytes,
                " bytes but the image has ", mat.total() * mat.elemSize());
    cv::Mat destination(mat.rows, mat.cols, mat.type(), buffer);
    mat.copyTo(destination);
  })
}

bni_error* bni_image_resize(const uint8_t* source, int32_t width, int32_t height, int32_t channels,
                            int32_t x, int32_t y, int32_t roi_width, int32_t roi_height,
                            uint8_t* destination, int32_t target_width, int32_t target_height, int32_t interpolation) {
  BNI_TRY({
    cv::Mat image = view(source, width, height, channels);
    cv::Rect roi(x, y, roi_width, roi_height);
    TORCH_CHECK(roi.width > 0 && roi.height > 0 && (roi & cv::Rect(0, 0, width, height)) == roi,
                "the region does not lie inside the ", width, " x ", height, " image");
    TORCH_CHECK(interpolation == cv::INTER_NEAREST || interpolation == cv::INTER_LINEAR ||
                    interpolation == cv::INTER_CUBIC || interpolation == cv::INTER_AREA,
                "unknown interpolation code ", interpolation);
    cv::Mat target = view(destination, target_width, target_height, channels);
    cv::resize(image(roi), target, target.size(), 0, 0, interpolation);
    // resize reuses a destination of the right size and type; a reallocation would lose the result.
    TORCH_CHECK(target.data == destination, "cv::resize did not write into the destination buffer");
  })
}

bni_error* bni_image_encode_png(const uint8_t* pixels, int32_t width, int32_t height, int32_t channels, bni_buffer** out) {
  BNI_TRY({
    cv::Mat image = view(pixels, width, height, channels);
    auto buffer = std::make_unique<bni_buffer>();
    TORCH_CHECK(cv::imencode(".png", image, buffer->bytes), "OpenCV could not encode the image as PNG");
    *out = buffer.release();
  })
}

const uint8_t* bni_buffer_data(const bni_buffer* buffer) { return buffer->bytes.data(); }

int64_t bni_buffer_size(const bni_buffer* buffer) { return static_cast<int64_t>(buffer->bytes.size()); }

void bni_buffer_free(bni_buffer* buffer) { delete buffer; }

}  // extern "C"
