// The mednet program as a user runs it: exit codes, messages, files.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mednet/data/download.h"
#include "support/fixtures.h"
#include "support/http_server.h"

using namespace mednet::testing;
namespace fs = std::filesystem;

namespace {

// Runs mednet with a clean environment: HOME in a temp folder, no MEDMNIST_ROOT.
std::pair<int, std::string> mednet(const std::string& args, const std::string& home) {
  return run_command("env -u MEDMNIST_ROOT HOME=" + home + " XDG_CACHE_HOME=" + home + "/.cache " +
                     MEDNET_BIN + " " + args);
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override { home_ = temp_dir("home"); }
  std::string home_;
};

TEST_F(Cli, NoSubcommandIsAUsageError) {
  auto [rc, out] = mednet("", home_);
  EXPECT_EQ(rc, 2) << out;
}

TEST_F(Cli, UnknownOptionIsAUsageError) {
  auto [rc, out] = mednet("train --bogus 1", home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, "--bogus")) << out;
}

TEST_F(Cli, UnknownDatasetListsValidFlags) {
  auto [rc, out] = mednet("info adrenal", home_);
  EXPECT_EQ(rc, 2);
  EXPECT_TRUE(contains(out, "unknown dataset 'adrenal'")) << out;
  EXPECT_TRUE(contains(out, "adrenalmnist3d")) << out;
  std::tie(rc, out) = mednet("train --dataset nosuchmnist --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 2) << out;
}

TEST_F(Cli, MissingDataFileIsARuntimeErrorWithAHint) {
  auto [rc, out] =
      mednet("train --dataset nodulemnist3d --root " + home_ + "/none --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(contains(out, "cannot find nodulemnist3d.npz")) << out;
  EXPECT_TRUE(contains(out, "mednet fetch nodulemnist3d")) << out;
}

TEST_F(Cli, MissingConfigAndCorruptFile) {
  auto [rc, out] = mednet("train --config " + home_ + "/nope.json --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, "cannot open config")) << out;
  const std::string root = temp_dir("root");
  std::ofstream(root + "/nodulemnist3d.npz") << "truncated";
  std::tie(rc, out) = mednet("info nodulemnist3d --root " + root, home_);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(contains(out, "unreadable")) << out;
}

TEST_F(Cli, FileThatIsNotTheOfficialReleaseIsRefused) {
  const std::string root = temp_dir("root");
  write_fake_medmnist(root + "/nodulemnist3d.npz", "nodulemnist3d", 4, 2, 2);
  auto [rc, out] = mednet("train --dataset nodulemnist3d --root " + root + " --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(contains(out, "but the official file has 8755a7e9e05a4d9ce80a24c3e7a256f3")) << out;
  EXPECT_FALSE(fs::exists(home_ + "/r/state.json"));
}

TEST_F(Cli, InfoPrintsTheCatalogAndFileCounts) {
  auto [rc, out] = mednet("info", home_);
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(contains(out, "18 datasets")) << out;
  const std::string root = temp_dir("root");
  write_fake_medmnist(root + "/nodulemnist3d.npz", "nodulemnist3d", 7, 3, 2);
  std::tie(rc, out) = mednet("info nodulemnist3d --root " + root, home_);
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(contains(out, "found: " + root + "/nodulemnist3d.npz")) << out;
  EXPECT_TRUE(contains(out, "train      7 samples  (catalog says 1158)")) << out;
}

TEST_F(Cli, TrainEvalAndResumeOnAGeneratedNoduleFile) {
  const std::string root = temp_dir("root");
  write_fake_medmnist(root + "/nodulemnist3d.npz", "nodulemnist3d", 64, 32, 32);
  const std::string run = home_ + "/run";
  const std::string common = " --root " + root + " --widths 4,8 --threads 2 --device cpu --skip-md5";
  auto [rc, out] =
      mednet("train --config " MEDNET_SOURCE_DIR "/experiments/exp1_cnn3d_nodule.json --epochs 2" + common +
                 " --out " + run,
             home_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(contains(out, "v2 ResNet-18+3D")) << out;  // printed beside the benchmark rows
  EXPECT_TRUE(contains(out, "MD5 not checked (--skip-md5)")) << out;
  for (const char* f : {"config.json", "history.csv", "metrics.json", "best.pt"}) {
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;
  }
  const auto metrics = nlohmann::json::parse(read_file(run + "/metrics.json"));
  for (const char* k :
       {"dataset", "size", "model", "seed", "epochs_run", "best_epoch", "params", "train_seconds"}) {
    EXPECT_TRUE(metrics.contains(k)) << k;
  }
  EXPECT_EQ(metrics["dataset"], "nodulemnist3d");
  EXPECT_EQ(metrics["epochs_run"], 2);
  const double test_auc = metrics["test"]["auc"].get<double>();
  const auto config = nlohmann::json::parse(read_file(run + "/config.json"));
  EXPECT_EQ(config["model"]["widths"], nlohmann::json({4, 8}));
  EXPECT_EQ(config["seed"], 0);

  // eval reproduces the test numbers of the run
  std::tie(rc, out) = mednet("eval --run " + run + " --threads 2 --skip-md5", home_);
  ASSERT_EQ(rc, 0) << out;
  char auc[32];
  std::snprintf(auc, sizeof auc, "AUC %.3f", test_auc);
  EXPECT_TRUE(contains(out, std::string("test: ") + auc)) << out;

  // an existing run is never overwritten; --resume continues it
  std::tie(rc, out) = mednet("train --dataset nodulemnist3d" + common + " --out " + run, home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, "already holds a run")) << out;
  std::tie(rc, out) = mednet("train --resume " + run + " --epochs 3 --threads 2 --skip-md5", home_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(contains(out, "epoch   3/3")) << out;
  EXPECT_EQ(nlohmann::json::parse(read_file(run + "/metrics.json"))["epochs_run"], 3);
  std::tie(rc, out) = mednet("train --resume " + run + " --lr 0.1", home_);
  EXPECT_EQ(rc, 2) << out;

  std::tie(rc, out) = mednet("eval --run " + home_ + "/nothing", home_);
  EXPECT_EQ(rc, 2) << out;
}

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
