#pragma once
// Small JSON helpers shared by config readers and report writers.
#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "mednet/core/error.h"

namespace mednet::core {

/// Files and JSON values read from outside are refused past these sizes before the parser recurses.
inline constexpr int kMaxJsonDepth = 64;
inline constexpr size_t kMaxJsonFileBytes = size_t{64} << 20;

namespace detail {
template <typename T>
struct is_vector : std::false_type {};
template <typename T, typename A>
struct is_vector<std::vector<T, A>> : std::true_type {};

/// v as the integer type T when it is a whole number that T holds (1.5, -1 for an unsigned field and
/// 1e12 for an int are usage errors naming `name`, never truncated or wrapped around).
template <typename T>
T whole_number(const nlohmann::json& v, const std::string& name) {
  constexpr int bits = std::numeric_limits<T>::digits;  // 31 for int, 63 for int64_t, 64 for uint64_t
  const double lo = std::is_signed_v<T> ? -std::ldexp(1.0, bits) : 0.0, hi = std::ldexp(1.0, bits);
  MN_CHECK_USAGE(v.is_number(), name, " must be a whole number, got ", v.dump());
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    MN_CHECK_USAGE(static_cast<double>(u) < hi && u <= static_cast<uint64_t>(std::numeric_limits<T>::max()),
                   name, " is out of range: ", v.dump());
    return static_cast<T>(u);
  }
  if (v.is_number_integer()) {
    const auto i = v.get<int64_t>();
    MN_CHECK_USAGE(i >= 0 || std::is_signed_v<T>, name, " must be >= 0, got ", v.dump());
    MN_CHECK_USAGE(static_cast<double>(i) >= lo && static_cast<double>(i) < hi, name,
                   " is out of range: ", v.dump());
    return static_cast<T>(i);
  }
  const double d = v.get<double>();
  MN_CHECK_USAGE(std::trunc(d) == d, name, " must be a whole number, got ", v.dump());
  MN_CHECK_USAGE(d >= 0 || std::is_signed_v<T>, name, " must be >= 0, got ", v.dump());
  MN_CHECK_USAGE(d >= lo && d < hi, name, " is out of range: ", v.dump());
  return static_cast<T>(d);
}

/// v as T: integers (and lists of them) through whole_number, everything else through get<T>().
template <typename T>
T strict_get(const nlohmann::json& v, const std::string& name) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return whole_number<T>(v, name);
  } else if constexpr (is_vector<T>::value) {
    MN_CHECK_USAGE(v.is_array(), name, " must be a list, got ", v.dump());
    T out;
    for (size_t i = 0; i < v.size(); ++i)
      out.push_back(strict_get<typename T::value_type>(v[i], name + "[" + std::to_string(i) + "]"));
    return out;
  } else {
    try {
      return v.get<T>();
    } catch (const nlohmann::json::exception& e) {
      MN_CHECK_USAGE(false, name, " has the wrong type: ", e.what());
    }
    return T{};
  }
}
}  // namespace detail

/// v as the integer type T when it is a whole number that T holds; otherwise a usage error naming
/// `name` (never a truncated or wrapped-around value). Readers of files mednet wrote use it too.
template <typename T>
T whole_number(const nlohmann::json& v, const std::string& name) {
  return detail::whole_number<T>(v, name);
}

/// Reads j[key] into field when present; a value of the wrong type, or an integer field given a
/// fraction or a number out of the field's range, is a usage error naming `what` (for example
/// "config key") and the key.
template <typename T>
void take(const nlohmann::json& j, const char* key, T& field, const char* what) {
  if (!j.contains(key)) return;
  field = detail::strict_get<T>(j.at(key), std::string(what) + " '" + key + "'");
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

/// Parses JSON text read from `source` (a path, or what the bytes are). Nesting deeper than
/// kMaxJsonDepth and a key repeated within one object are refused while parsing, before anything
/// recurses. Bad text is a usage error naming source (input a person wrote); with damaged = true it is a
/// runtime error saying source is damaged (files mednet wrote itself).
nlohmann::json parse_json(const std::string& text, const std::string& source, bool damaged = false);

/// Parses a JSON file as parse_json does. A path that is missing, not a regular file (a folder or a
/// FIFO) or larger than kMaxJsonFileBytes is an error naming `what` and the path.
nlohmann::json read_json_file(const std::string& path, const std::string& what = "file",
                              bool damaged = false);

/// A usage error for the first key of j that is not in known: "unknown key 'K' in WHERE (valid: ...)".
/// j must be an object.
void reject_unknown_keys(const nlohmann::json& j, const std::set<std::string>& known,
                         const std::string& where);

}  // namespace mednet::core
