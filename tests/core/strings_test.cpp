// core/strings.h: bytes quoted from files are escaped, and every message printed is valid UTF-8.
#include <cmath>

#include <gtest/gtest.h>

#include "mednet/core/strings.h"

using namespace mednet;

namespace {

// A strict UTF-8 check written out from the definition (RFC 3629 lead and continuation bytes).
bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    i += n;
  }
  return true;
}

}  // namespace

TEST(Strings, FormatBytesUsesBinaryUnitsAndThreeFigures) {
  EXPECT_EQ(core::format_bytes(12), "12 B");
  EXPECT_EQ(core::format_bytes(64 * 1024), "64.0 KB");
  EXPECT_EQ(core::format_bytes(310.0 * 1024 * 1024), "310 MB");
  EXPECT_EQ(core::format_bytes(1.24 * 1024 * 1024 * 1024), "1.24 GB");
  EXPECT_EQ(core::format_bytes(std::nan("")), "n/a");
}

TEST(Strings, ReplaceAllReplacesEveryOccurrenceButNeverInsideAReplacement) {
  EXPECT_EQ(core::replace_all("retina-retinamnist", "retina", "breast"), "breast-breastmnist");
  EXPECT_EQ(core::replace_all("a-a", "a", "aa"), "aa-aa");
  EXPECT_EQ(core::replace_all("abc", "", "x"), "abc");
  EXPECT_EQ(core::replace_all("abc", "d", "x"), "abc");
}

TEST(Strings, EscapeBytesKeepsPrintableAsciiAndEscapesEveryOtherByte) {
  EXPECT_EQ(core::escape_bytes("descr '<f4'"), "descr '<f4'");
  EXPECT_EQ(core::escape_bytes(std::string("a\x88z\n\x1b[31m\0", 10)), "a\\x88z\\x0a\\x1b[31m\\x00");
  std::string high;
  for (int b = 0x80; b <= 0xff; ++b) high += static_cast<char>(b);
  const std::string e = core::escape_bytes(high);
  EXPECT_EQ(e.size(), 128u * 4);
  EXPECT_EQ(e.substr(0, 8), "\\x80\\x81");
  EXPECT_EQ(e.substr(e.size() - 4), "\\xff");
  for (char c : e) EXPECT_TRUE(c >= 0x20 && c < 0x7f);
}

TEST(Strings, PrintableMessageKeepsUtf8AndEscapesStrayBytes) {
  // A folder named in UTF-8 stays readable; a stray byte, an overlong form and an escape do not pass.
  EXPECT_EQ(core::printable_message("runs/donn\xc3\xa9"
                                    "es: ok\n\ttab"),
            "runs/donn\xc3\xa9"
            "es: ok\n\ttab");
  EXPECT_EQ(core::printable_message("bad \x88 byte"), "bad \\x88 byte");
  EXPECT_EQ(core::printable_message("overlong \xc0\xaf"), "overlong \\xc0\\xaf");
  EXPECT_EQ(core::printable_message("cut \xe2\x82"), "cut \\xe2\\x82");
  EXPECT_EQ(core::printable_message("surrogate \xed\xa0\x80"), "surrogate \\xed\\xa0\\x80");
  EXPECT_EQ(core::printable_message("\x1b[2Jclear"), "\\x1b[2Jclear");
  EXPECT_EQ(core::printable_message("euro \xe2\x82\xac, emoji \xf0\x9f\x98\x80"),
            "euro \xe2\x82\xac, emoji \xf0\x9f\x98\x80");
  std::string all;
  for (int b = 0; b <= 0xff; ++b) all += static_cast<char>(b);
  EXPECT_TRUE(valid_utf8(core::printable_message(all + all)));
}
