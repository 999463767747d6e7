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

/// Every occurrence of from in text replaced by to, left to right, never inside a replacement:
/// replace_all("a-a", "a", "aa") == "aa-aa".
inline std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

/// Bytes quoted from a file, fit for a message: printable ASCII as is, every other byte as \xNN, so the
/// message is valid UTF-8 and no control byte reaches a terminal: escape_bytes("a\x88") == "a\\x88".
inline std::string escape_bytes(const std::string& bytes) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size());
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f) {
      out += ch;
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

/// A whole message made safe to print: valid UTF-8 sequences, newlines and tabs kept, every other byte
/// (a stray 0x88, an escape character) as \xNN. The app passes every error message through it.
inline std::string printable_message(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    // The length of a well-formed UTF-8 sequence starting here (0: not one).
    size_t len = 0;
    if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f)) {
      len = 1;
    } else if (c >= 0xc2 && c <= 0xf4) {
      const size_t want = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
      len = want;
      for (size_t k = 1; k < want; ++k) {
        const auto d = i + k < text.size() ? static_cast<unsigned char>(text[i + k]) : 0;
        if ((d & 0xc0) != 0x80) len = 0;
      }
      if (len == 3 && ((c == 0xe0 && static_cast<unsigned char>(text[i + 1]) < 0xa0) ||
                       (c == 0xed && static_cast<unsigned char>(text[i + 1]) >= 0xa0)))
        len = 0;  // overlong, or a UTF-16 surrogate
      if (len == 4 && ((c == 0xf0 && static_cast<unsigned char>(text[i + 1]) < 0x90) ||
                       (c == 0xf4 && static_cast<unsigned char>(text[i + 1]) >= 0x90)))
        len = 0;  // overlong, or past U+10FFFF
    }
    if (len == 0) {
      out += escape_bytes(std::string(1, text[i]));
      ++i;
    } else {
      out.append(text, i, len);
      i += len;
    }
  }
  return out;
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

/// Bytes in binary units with three significant figures at most: "1.24 GB", "310 MB", "64.0 KB", "12 B".
inline std::string format_bytes(double bytes) {
  if (!std::isfinite(bytes)) return "n/a";
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (std::abs(bytes) >= 1024 && u < 4) bytes /= 1024, ++u;
  const int digits = u == 0 || std::abs(bytes) >= 100 ? 0 : std::abs(bytes) >= 10 ? 1 : 2;
  return format_fixed(bytes, digits) + " " + units[u];
}

/// "AUC 0.853 ACC 0.812" with "n/a" for undefined values.
inline std::string format_scores(double auc, double acc) {
  return "AUC " + format_fixed(auc) + " ACC " + format_fixed(acc);
}

}  // namespace mednet::core
