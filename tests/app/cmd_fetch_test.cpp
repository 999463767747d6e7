// mednet fetch against a loopback server.
#include "app/cli_fixture.h"
#include "mednet/data/download.h"
#include "support/http_server.h"

using namespace mednet::testing;
namespace fs = std::filesystem;

namespace {

TEST_F(Cli, FetchRejectsAFileWithTheWrongMd5) {
  if (!mednet::data::download_available()) GTEST_SKIP() << "this build cannot download";
  LoopbackHttpServer server("not the official file", LoopbackHttpServer::Mode::Serve);
  const std::string root = temp_dir("fetch");
  auto [rc, out] = mednet("fetch nodulemnist3d --root " + root + " --url " + server.url(), home_);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(contains(out, "does not match the expected 8755a7e9e05a4d9ce80a24c3e7a256f3")) << out;
  EXPECT_FALSE(fs::exists(root + "/nodulemnist3d.npz"));
  EXPECT_FALSE(fs::exists(root + "/nodulemnist3d.npz.part"));
}

}  // namespace
