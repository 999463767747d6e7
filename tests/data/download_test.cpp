#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "mednet/core/error.h"
#include "mednet/data/download.h"
#include "support/fixtures.h"
#include "support/http_server.h"

using namespace mednet::data;
using namespace mednet::testing;
namespace fs = std::filesystem;

namespace {

class Download : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!download_available() || !md5_available()) GTEST_SKIP() << "this build has no libcurl or no MD5";
    dir_ = temp_dir("dl");
    body_ = std::string(300000, 'm') + "end";
  }
  std::string dir_, body_;
};

TEST_F(Download, WritesTheFileWhenTheHashMatches) {
  LoopbackHttpServer server(body_, LoopbackHttpServer::Mode::Serve);
  const std::string src = dir_ + "/src.bin";
  { std::ofstream(src, std::ios::binary) << body_; }
  const std::string md5 = md5_file(src);
  uint64_t last_seen = 0;
  download_file(server.url(), dir_ + "/out/f.npz", md5, [&](uint64_t now, uint64_t) { last_seen = now; });
  EXPECT_EQ(read_file(dir_ + "/out/f.npz"), body_);
  EXPECT_FALSE(fs::exists(dir_ + "/out/f.npz.part"));
  EXPECT_EQ(last_seen, body_.size());
}

TEST_F(Download, WrongHashLeavesNothing) {
  LoopbackHttpServer server(body_, LoopbackHttpServer::Mode::Serve);
  try {
    download_file(server.url(), dir_ + "/f.npz", "00000000000000000000000000000000", nullptr);
    FAIL() << "no error";
  } catch (const mednet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("does not match the expected 00000000000000000000000000000000"),
              std::string::npos);
  }
  EXPECT_FALSE(fs::exists(dir_ + "/f.npz"));
  EXPECT_FALSE(fs::exists(dir_ + "/f.npz.part"));
}

TEST_F(Download, CutOffTransferLeavesNothing) {
  LoopbackHttpServer server(body_, LoopbackHttpServer::Mode::CutOff);
  EXPECT_THROW(download_file(server.url(), dir_ + "/f.npz", "", nullptr), mednet::Error);
  EXPECT_FALSE(fs::exists(dir_ + "/f.npz"));
  EXPECT_FALSE(fs::exists(dir_ + "/f.npz.part"));
}

TEST_F(Download, HttpErrorLeavesNothing) {
  LoopbackHttpServer server(body_, LoopbackHttpServer::Mode::NotFound);
  try {
    download_file(server.url(), dir_ + "/f.npz", "", nullptr);
    FAIL() << "no error";
  } catch (const mednet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("404"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ + "/f.npz"));
}

}  // namespace
