// core/fs.h and core/json.h: atomic writes, the cache folder, JSON files and unknown keys.
#include <sys/stat.h>

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

namespace {
// The message of the mednet::Error that f throws ("" when it throws none), and its kind.
template <typename F>
std::pair<std::string, ErrorKind> error_and_kind(F f) {
  try {
    f();
  } catch (const Error& e) {
    return {e.what(), e.kind()};
  }
  return {"", ErrorKind::Runtime};
}
std::string nested(int depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}
}  // namespace

TEST(CoreJson, DeepNestingIsRefusedBeforeTheParserRecurses) {
  EXPECT_NO_THROW(core::parse_json(nested(core::kMaxJsonDepth), "x.json"));
  for (int depth : {core::kMaxJsonDepth + 1, 100000}) {
    const auto [what, kind] = error_and_kind([&] { core::parse_json(nested(depth), "x.json"); });
    EXPECT_NE(what.find("x.json: nested deeper than 64 levels"), std::string::npos) << what;
    EXPECT_EQ(kind, ErrorKind::Usage);
  }
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(100000, '}');
  EXPECT_NE(error_and_kind([&] {
              core::parse_json(objects, "o.json", true);
            }).first.find("o.json is damaged: nested"),
            std::string::npos);
}

TEST(CoreJson, ARepeatedKeyInOneObjectIsAnError) {
  const auto [what, kind] =
      error_and_kind([] { core::parse_json(R"({"epochs": 1, "b": {}, "epochs": 2})", "c.json"); });
  EXPECT_NE(what.find("c.json: key 'epochs' appears twice in one object"), std::string::npos) << what;
  EXPECT_EQ(kind, ErrorKind::Usage);
  EXPECT_NE(
      error_and_kind([] { core::parse_json(R"({"m": {"w": 1, "w": 1}})", "c.json"); }).first.find("key 'w'"),
      std::string::npos);
  // The same key in sibling or nested objects is fine.
  const auto j = core::parse_json(R"({"a": {"a": 1}, "b": [{"a": 2}, {"a": 3}], "c": {"a": 4}})", "c.json");
  EXPECT_EQ(j["b"][1]["a"], 3);
  EXPECT_EQ(j["c"]["a"], 4);
}

TEST(CoreJson, OnlyRegularFilesAreRead) {
  const std::string dir = mednet::testing::temp_dir("core_json_kinds");
  const std::string fifo = dir + "/pipe.json";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {fifo, dir}) {
    const auto [what, kind] = error_and_kind([&] { core::read_json_file(path, "config"); });
    EXPECT_NE(what.find("config " + path + " is not a regular file"), std::string::npos) << what;
    EXPECT_EQ(kind, ErrorKind::Usage);
  }
}

TEST(CoreJson, WholeNumberFieldsTakeNoFractionsAndNothingOutOfRange) {
  const auto j = nlohmann::json::parse(
      R"({"big": 4294967297, "half": 1.5, "e12": 1e12, "neg": -1, "three": 3.0, "huge": 1e30,
          "list": [8, 2.5], "ok": [8, 16], "word": "ten"})");
  auto message = [&](auto field, const char* key) {
    return error_and_kind([&] { core::take(j, key, field, "config key"); }).first;
  };
  EXPECT_NE(message(int{}, "big").find("config key 'big' is out of range: 4294967297"), std::string::npos);
  EXPECT_NE(message(int{}, "half").find("config key 'half' must be a whole number, got 1.5"),
            std::string::npos);
  EXPECT_NE(message(int{}, "e12").find("config key 'e12' is out of range"), std::string::npos);
  EXPECT_NE(message(uint64_t{}, "neg").find("config key 'neg' must be >= 0, got -1"), std::string::npos);
  EXPECT_NE(message(uint64_t{}, "huge").find("out of range"), std::string::npos);
  EXPECT_NE(
      message(std::vector<int64_t>{}, "list").find("config key 'list'[1] must be a whole number, got 2.5"),
      std::string::npos);
  EXPECT_NE(message(int{}, "word").find("config key 'word' must be a whole number"), std::string::npos);
  int three = 0;
  core::take(j, "three", three, "config key");
  EXPECT_EQ(three, 3);
  int64_t neg = 0;
  core::take(j, "neg", neg, "config key");
  EXPECT_EQ(neg, -1);
  std::vector<int64_t> ok;
  core::take(j, "ok", ok, "config key");
  EXPECT_EQ(ok, (std::vector<int64_t>{8, 16}));
  uint64_t big = 0;
  core::take(j, "big", big, "config key");
  EXPECT_EQ(big, 4294967297ULL);
}
