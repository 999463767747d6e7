#pragma once
// A state dict as the weight files hold it: names and tensors in the file's order.
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace mednet::models {

/// Name -> tensor, in the file's order.
using StateDict = std::vector<std::pair<std::string, at::Tensor>>;

/// An error naming the source and the first tensor that holds NaN or an infinity (how many of its values
/// do), for every floating-point tensor: weights that diverged or were edited are never used. Integer
/// tensors (int8 weights) pass as they are.
void check_finite(const StateDict& tensors, const std::string& source);

/// "[64, 3, 3, 3]" for error messages.
inline std::string shape_string(at::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace mednet::models
