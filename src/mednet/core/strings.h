#pragma once
// Small string helpers shared by error messages and tables.
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

}  // namespace mednet::core
