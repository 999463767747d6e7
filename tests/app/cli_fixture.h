#pragma once
// The mednet program as a user runs it, shared by the tests of each command: the program run with a clean
// environment (HOME in a temp folder, no MEDMNIST_ROOT), a fixture that makes that folder, a folder with a
// generated data file, and what the tests read from the program's output (whether it could draw, a PNG's
// size).
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/fixtures.h"

// The Cli fixture lives in a named namespace: it must be one type in every file that uses it, whichever unity
// batch each file is compiled in (GoogleTest refuses one suite with two fixture types).
namespace cli_fixture {

// Runs mednet with a clean environment: HOME in a temp folder, no MEDMNIST_ROOT.
inline std::pair<int, std::string> run_mednet(const std::string& args, const std::string& home) {
  return mednet::testing::run_command("env -u MEDMNIST_ROOT HOME=" + home + " XDG_CACHE_HOME=" + home +
                                      "/.cache " + MEDNET_BIN + " " + args);
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override { home_ = mednet::testing::temp_dir("home"); }

  // Runs mednet with args and expects a usage error (exit 2) whose text contains `part`.
  void expect_usage_error(const std::string& args, const std::string& part) const {
    const auto [rc, text] = run_mednet(args, home_);
    EXPECT_EQ(rc, 2) << args << "\n" << text;
    EXPECT_NE(text.find(part), std::string::npos) << args << "\n" << text;
  }
  std::string home_;
};

}  // namespace cli_fixture

using cli_fixture::Cli;

namespace {

// Runs mednet with a clean environment: HOME in a temp folder, no MEDMNIST_ROOT.
inline std::pair<int, std::string> mednet(const std::string& args, const std::string& home) {
  return cli_fixture::run_mednet(args, home);
}

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// A new temp folder holding a generated file of the catalog dataset `flag` (flag.npz, official format).
inline std::string fake_medmnist_root(const std::string& flag, int64_t n_train, int64_t n_val,
                                      int64_t n_test) {
  const std::string root = mednet::testing::temp_dir(flag);
  mednet::testing::write_fake_medmnist(root + "/" + flag + ".npz", flag, n_train, n_val, n_test);
  return root;
}

// True unless the build says it cannot draw pictures.
inline bool report_available(const std::string& text) {
  return !contains(text, "no cairo") && !contains(text, "no image output");
}

// PNG width and height from the IHDR chunk.
inline std::pair<int, int> png_size(const std::string& path) {
  const std::string b = mednet::testing::read_file(path);
  if (b.size() < 24 || b.compare(1, 3, "PNG") != 0) return {0, 0};
  auto be32 = [&](size_t o) {
    return (static_cast<unsigned char>(b[o]) << 24) | (static_cast<unsigned char>(b[o + 1]) << 16) |
           (static_cast<unsigned char>(b[o + 2]) << 8) | static_cast<unsigned char>(b[o + 3]);
  };
  return {static_cast<int>(be32(16)), static_cast<int>(be32(20))};
}

}  // namespace
