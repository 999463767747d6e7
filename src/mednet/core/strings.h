#pragma once
// Small string helpers shared by error messages and tables.
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

namespace mednet::core {

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

/// A number with a fixed count of decimals, or "n/a" for NaN and infinities (undefined metrics).
inline std::string format_fixed(double v, int digits = 3) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace mednet::core
