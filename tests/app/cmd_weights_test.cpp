// mednet weights fetch against a loopback server.
#include <torch/torch.h>

#include "app/cli_fixture.h"
#include "mednet/data/download.h"
#include "support/http_server.h"

using namespace mednet::testing;
namespace fs = std::filesystem;

namespace {

TEST_F(Cli, WeightsFetchChecksTheDigestAndCaches) {
  // A tiny safetensors file served on loopback with its SHA-256 in X-Linked-Etag, as Hugging Face does.
  const std::string src_dir = temp_dir("wsrc");
  write_safetensors(src_dir + "/w.safetensors",
                    {{"features.0.weight", torch::ones({2, 3})}, {"x", torch::zeros({4})}});
  const std::string body = read_file(src_dir + "/w.safetensors");
  const std::string sha = mednet::data::sha256_file(src_dir + "/w.safetensors");
  const std::string cached = home_ + "/.cache/mednet/weights/vgg16.tv_in1k.safetensors";
  {
    LoopbackHttpServer server(body, LoopbackHttpServer::Mode::Serve, "X-Linked-Etag: \"" + sha + "\"\r\n");
    auto [rc, text] = mednet("weights fetch vgg16 --url " + server.url("/model.safetensors"), home_);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_TRUE(contains(text, "SHA-256 " + sha + " verified, 2 tensors")) << text;
  }
  EXPECT_EQ(read_file(cached), body);
  auto [rc, text] = mednet("weights list", home_);
  EXPECT_EQ(rc, 0) << text;
  EXPECT_TRUE(contains(text, "cached: " + cached)) << text;

  // A wrong pinned digest, or a file that is not weights, leaves nothing in a fresh cache.
  const std::string other = temp_dir("home2");
  {
    LoopbackHttpServer server(body, LoopbackHttpServer::Mode::Serve);
    std::tie(rc, text) =
        mednet("weights fetch vgg16 --sha256 " + std::string(64, '0') + " --url " + server.url(), other);
    EXPECT_EQ(rc, 1) << text;
    EXPECT_TRUE(contains(text, "does not match")) << text;
  }
  {
    const std::string junk = "this is not a weights file at all";
    std::ofstream(src_dir + "/junk") << junk;
    LoopbackHttpServer server(junk, LoopbackHttpServer::Mode::Serve);
    std::tie(rc, text) = mednet("weights fetch vgg16 --sha256 " +
                                    mednet::data::sha256_file(src_dir + "/junk") + " --url " + server.url(),
                                other);
    EXPECT_EQ(rc, 1) << text;
  }
  {
    LoopbackHttpServer server(body, LoopbackHttpServer::Mode::CutOff);
    std::tie(rc, text) = mednet("weights fetch vgg16 --url " + server.url(), other);
    EXPECT_EQ(rc, 1) << text;
  }
  EXPECT_FALSE(fs::exists(other + "/.cache/mednet/weights/vgg16.tv_in1k.safetensors"));
  EXPECT_FALSE(fs::exists(other + "/.cache/mednet/weights/vgg16.tv_in1k.safetensors.part"));
  std::tie(rc, text) = mednet("weights fetch vgg19", other);
  EXPECT_EQ(rc, 2) << text;
  EXPECT_TRUE(contains(text, "known: vgg16")) << text;
}

}  // namespace
