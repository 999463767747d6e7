#pragma once
// Small JSON helpers shared by config readers and report writers.
#include <cmath>
#include <set>
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

/// A number from j[key], NaN when it is null.
double number_or_nan(const nlohmann::json& j, const char* key);

/// A number from j[key] (or j[key][sub]), NaN when either is missing or not a number (result files
/// written before a field existed).
double number_at(const nlohmann::json& j, const char* key, const char* sub = nullptr);

/// Parses a JSON file. A file that is missing or not JSON is a usage error naming `what` and the
/// path (input files a person wrote); with damaged = true it is a runtime error saying the file is
/// damaged (files mednet wrote itself).
nlohmann::json read_json_file(const std::string& path, const std::string& what = "file",
                              bool damaged = false);

/// A usage error for the first key of j that is not in known: "unknown key 'K' in WHERE (valid: ...)".
/// j must be an object.
void reject_unknown_keys(const nlohmann::json& j, const std::set<std::string>& known,
                         const std::string& where);

}  // namespace mednet::core
