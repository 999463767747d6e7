#pragma once
// Where torch::optim::Optimizer files a parameter's state: under a string in LibTorch 1.x, under the
// TensorImpl pointer in 2.x. The optimizer checkpoint (run/checkpoint.h) and ForeachAdam
// (train/optimizer.h) look states up through it, so one source builds with both.
#include <sstream>
#include <string>
#include <type_traits>

#include <torch/optim/optimizer.h>

namespace mednet::run {

// A template so that only the branch for this LibTorch's key type is compiled.
template <typename Optimizer>
auto optimizer_state_key(const Optimizer& opt, const at::Tensor& p) {
  using Key = typename std::decay_t<decltype(opt.state())>::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream key;  // as c10::guts::to_string writes the pointer
    key << p.unsafeGetTensorImpl();
    return key.str();
  } else {
    return static_cast<Key>(p.unsafeGetTensorImpl());
  }
}

}  // namespace mednet::run
