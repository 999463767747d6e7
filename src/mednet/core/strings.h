#pragma once
// Small string helpers shared by error messages and tables.
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace mednet::core {

/// ASCII lower case: to_lower("A.NII.GZ") == "a.nii.gz".
inline std::string to_lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

/// Joins the items with a separator: join({"a", "b"}, ", ") == "a, b". Items need operator<<.
template <typename Range>
std::string join(const Range& items, const std::string& sep) {
  std::ostringstream os;
  bool first = true;
  for (const auto& item : items) {
    if (!first) os << sep;
    os << item;
    first = false;
  }
  return os.str();
}

/// A number with a fixed count of decimals, or `undefined` ("n/a") for NaN and infinities.
inline std::string format_fixed(double v, int digits = 3, const char* undefined = "n/a") {
  if (!std::isfinite(v)) return undefined;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

/// A signed number ("+0.0013"), or "n/a".
inline std::string format_signed(double v, int digits = 3) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%+.*f", digits, v);
  return buf;
}

/// "AUC 0.853 ACC 0.812" with "n/a" for undefined values.
inline std::string format_scores(double auc, double acc) {
  return "AUC " + format_fixed(auc) + " ACC " + format_fixed(acc);
}

}  // namespace mednet::core
