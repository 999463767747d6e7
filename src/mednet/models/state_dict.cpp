#include "mednet/models/state_dict.h"

#include <ATen/ATen.h>

#include "mednet/core/error.h"
#include "mednet/core/strings.h"

namespace mednet::models {

void check_finite(const StateDict& tensors, const std::string& source) {
  for (const auto& [name, t] : tensors) {
    if (!t.defined() || !at::isFloatingType(t.scalar_type()) || t.numel() == 0) continue;
    const int64_t bad = (~at::isfinite(t)).sum().item<int64_t>();
    if (bad == 0) continue;
    const int64_t nan = at::isnan(t).sum().item<int64_t>();
    MN_CHECK(false, source, ": tensor '", core::escape_bytes(name), "' holds ", bad, " non-finite value",
             bad == 1 ? "" : "s", " of ", t.numel(), " (", nan, " NaN, ", bad - nan,
             " infinite): these weights diverged or were damaged, and are not used");
  }
}

}  // namespace mednet::models
