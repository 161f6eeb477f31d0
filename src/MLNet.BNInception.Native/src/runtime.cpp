// Library identity, error objects and thread control.
#include <ATen/Parallel.h>
#include <torch/csrc/api/include/torch/version.h>

#include <cstring>

#include "common.h"

bni_error bni::out_of_memory_error{"out of memory while reporting a native error"};

extern "C" {

int32_t bni_abi_version(void) { return BNI_ABI_VERSION; }

const char* bni_error_message(const bni_error* error) { return error->message.c_str(); }

void bni_error_free(bni_error* error) {
  if (error != &bni::out_of_memory_error) delete error;
}

bni_error* bni_torch_version(char* buffer, int32_t capacity) {
  BNI_TRY({
    const char* version = TORCH_VERSION;
    TORCH_CHECK(static_cast<int32_t>(std::strlen(version)) < capacity, "version buffer too small");
    std::strcpy(buffer, version);
  })
}

bni_error* bni_set_num_threads(int32_t count) { BNI_TRY(at::set_num_threads(count)) }

int32_t bni_get_num_threads(void) { return at::get_num_threads(); }

}  // extern "C"
