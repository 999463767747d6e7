// core/fs.h and core/json.h: atomic writes, the cache folder, JSON files and unknown keys.
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "support/fixtures.h"

using namespace mednet;

TEST(CoreFs, WriteFileAtomicReplacesAndLeavesNoTemporary) {
  const std::string dir = mednet::testing::temp_dir("core_fs");
  const std::string path = dir + "/a.txt";
  core::write_file_atomic(path, "first");
  core::write_file_atomic(path, std::string("se\0cond", 7));
  EXPECT_EQ(core::read_file(path), std::string("se\0cond", 7));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_THROW(core::write_file_atomic(dir + "/no/such/folder/x", "x"), Error);
  EXPECT_THROW(core::read_file(dir + "/missing"), Error);
}

TEST(CoreFs, CacheDirHonoursMednetCacheThenXdg) {
  setenv("MEDNET_CACHE", "/tmp/mednet-cache-test", 1);
  EXPECT_EQ(core::cache_dir(), "/tmp/mednet-cache-test");
  unsetenv("MEDNET_CACHE");
  setenv("XDG_CACHE_HOME", "/tmp/xdg-test", 1);
  EXPECT_EQ(core::cache_dir(), "/tmp/xdg-test/mednet");
  unsetenv("XDG_CACHE_HOME");
}

TEST(CoreJson, ReadJsonFileAndUnknownKeys) {
  const std::string dir = mednet::testing::temp_dir("core_json");
  std::ofstream(dir + "/ok.json") << R"({"a": 1, "b": null})";
  std::ofstream(dir + "/bad.json") << "{not json";
  const auto j = core::read_json_file(dir + "/ok.json", "config");
  EXPECT_EQ(j.at("a"), 1);
  EXPECT_TRUE(std::isnan(core::number_or_nan(j, "b")));
  try {
    core::read_json_file(dir + "/bad.json", "config");
    FAIL() << "bad JSON was read";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("bad.json is not valid JSON"), std::string::npos) << e.what();
  }
  EXPECT_THROW(core::read_json_file(dir + "/missing.json"), Error);
  try {
    core::reject_unknown_keys(j, {"a"}, "test file");
    FAIL() << "unknown key passed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key 'b' in test file (valid: a)"), std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(core::reject_unknown_keys(j, {"a", "b"}, "test file"));
}

TEST(CoreStrings, OneFamilyOfNumberFormatters) {
  EXPECT_EQ(core::format_fixed(0.12345, 3), "0.123");
  EXPECT_EQ(core::format_fixed(std::nan(""), 2), "n/a");
  EXPECT_EQ(core::format_fixed(std::nan(""), 2, "-"), "-");
  EXPECT_EQ(core::format_signed(0.0013, 4), "+0.0013");
  EXPECT_EQ(core::format_signed(-0.5, 1), "-0.5");
  EXPECT_EQ(core::format_scores(0.8534, 0.8121), "AUC 0.853 ACC 0.812");
}
