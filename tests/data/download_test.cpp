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

// SHA-256 checks (weights): a pinned digest, or the one the server publishes (X-Linked-Etag).
TEST_F(Download, Sha256FromTheServerHeaderIsChecked) {
  const std::string src = dir_ + "/src.bin";
  { std::ofstream(src, std::ios::binary) << body_; }
  const std::string sha = sha256_file(src);
  EXPECT_EQ(sha.size(), 64u);
  {
    LoopbackHttpServer server(body_, LoopbackHttpServer::Mode::Serve, "X-Linked-Etag: \"" + sha + "\"\r\n");
    EXPECT_EQ(download_file_sha256(server.url(), dir_ + "/a.bin", "", nullptr), sha);
    EXPECT_EQ(read_file(dir_ + "/a.bin"), body_);
  }
  {
    LoopbackHttpServer server(body_, LoopbackHttpServer::Mode::Serve);
    EXPECT_EQ(download_file_sha256(server.url(), dir_ + "/b.bin", sha, nullptr), sha);  // pinned
  }
}

TEST_F(Download, Sha256MismatchOrNoDigestLeavesNothing) {
  const std::string wrong(64, 'a');
  {
    LoopbackHttpServer server(body_, LoopbackHttpServer::Mode::Serve, "X-Linked-Etag: \"" + wrong + "\"\r\n");
    try {
      download_file_sha256(server.url(), dir_ + "/w.bin", "", nullptr);
      FAIL() << "no error";
    } catch (const mednet::Error& e) {
      EXPECT_NE(std::string(e.what()).find("does not match the expected " + wrong), std::string::npos)
          << e.what();
    }
  }
  {
    LoopbackHttpServer server(body_, LoopbackHttpServer::Mode::Serve);
    try {
      download_file_sha256(server.url(), dir_ + "/w.bin", "", nullptr);
      FAIL() << "no error";
    } catch (const mednet::Error& e) {
      EXPECT_NE(std::string(e.what()).find("no SHA-256 to check against"), std::string::npos) << e.what();
    }
  }
  {
    LoopbackHttpServer server(body_, LoopbackHttpServer::Mode::CutOff);
    EXPECT_THROW(download_file_sha256(server.url(), dir_ + "/w.bin", wrong, nullptr), mednet::Error);
  }
  EXPECT_FALSE(fs::exists(dir_ + "/w.bin"));
  EXPECT_FALSE(fs::exists(dir_ + "/w.bin.part"));
}

}  // namespace
