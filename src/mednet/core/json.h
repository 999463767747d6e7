#pragma once
// Small JSON helpers shared by config readers and report writers.
#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "mednet/core/error.h"

namespace mednet::core {

/// Reads j[key] into field when present; a value of the wrong type is a usage error naming
/// `what` (for example "config key") and the key.
template <typename T>
void take(const nlohmann::json& j, const char* key, T& field, const char* what) {
  if (!j.contains(key)) return;
  try {
    field = j.at(key).get<T>();
  } catch (const nlohmann::json::exception& e) {
    MN_CHECK_USAGE(false, what, " '", key, "' has the wrong type: ", e.what());
  }
}

/// A number, or null for NaN and infinities (which JSON cannot hold).
inline nlohmann::json finite_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}

}  // namespace mednet::core
