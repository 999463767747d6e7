#include "mednet/engine/autocast.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "mednet/core/error.h"

namespace mednet::engine {

namespace {
// LibTorch 2.4 and later name the device type; earlier versions have CUDA-only calls.
void set_cuda_autocast(bool enabled, at::ScalarType dtype) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
  at::autocast::set_autocast_enabled(at::kCUDA, enabled);
#else
  at::autocast::set_autocast_gpu_dtype(dtype);
  at::autocast::set_enabled(enabled);
#endif
}
}  // namespace

void check_precision(const std::string& precision, const c10::Device& device) {
  MN_CHECK_USAGE(precision == "fp32" || device.is_cuda(), "precision ", precision,
                 " needs a CUDA device (--device cuda); on ", device.str(), " use fp32");
}

Autocast::Autocast(const std::string& precision, const c10::Device& device) {
  if (precision == "fp32" || !device.is_cuda()) return;
  set_cuda_autocast(true, precision == "bf16" ? at::kBFloat16 : at::kHalf);
  active_ = true;
}

Autocast::~Autocast() {
  if (!active_) return;
  set_cuda_autocast(false, at::kHalf);
  at::autocast::clear_cache();
}

}  // namespace mednet::engine
