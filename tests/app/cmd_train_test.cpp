// mednet train, eval and --resume as a user runs them.
#include "app/cli_fixture.h"

using namespace mednet::testing;
namespace fs = std::filesystem;

namespace {

TEST_F(Cli, TrainEvalAndResumeOnAGeneratedNoduleFile) {
  const std::string root = fake_medmnist_root("nodulemnist3d", 64, 32, 32);
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
  expect_usage_error("train --dataset nodulemnist3d" + common + " --out " + run, "already holds a run");
  std::tie(rc, out) = mednet("train --resume " + run + " --epochs 3 --threads 2 --skip-md5", home_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(contains(out, "epoch   3/3")) << out;
  EXPECT_EQ(nlohmann::json::parse(read_file(run + "/metrics.json"))["epochs_run"], 3);
  std::tie(rc, out) = mednet("train --resume " + run + " --lr 0.1", home_);
  EXPECT_EQ(rc, 2) << out;

  std::tie(rc, out) = mednet("eval --run " + home_ + "/nothing", home_);
  EXPECT_EQ(rc, 2) << out;
}

TEST_F(Cli, TrainSaysWhatAStepHoldsAndRefusesARunThatDoesNotFit) {
  const std::string root = fake_medmnist_root("retinamnist", 64, 32, 32);
  const std::string common = " --dataset retinamnist --root " + root +
                             " --widths 4,8 --epochs 1 --threads 2 --device cpu --skip-md5";
  auto [rc, out] = mednet("train" + common + " --out " + home_ + "/fits", home_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(contains(out, "  memory: peak about ")) << out;
  EXPECT_TRUE(contains(out, ", a training step of 32 ")) << out;
  EXPECT_TRUE(contains(out, ", an evaluation batch of 256 ")) << out;

  // A batch far larger than the limit allows: refused before the first step, with the batch that fits,
  // and that batch then runs in the same folder.
  std::tie(rc, out) =
      mednet("train" + common + " --batch-size 60000 --max-memory 1000 --out " + home_ + "/big", home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, "more than --max-memory 1000 MB: give --batch-size ")) << out;
  EXPECT_FALSE(fs::exists(home_ + "/big/history.csv"));
  const size_t at = out.find("give --batch-size ");
  ASSERT_NE(at, std::string::npos);
  const int fits = std::atoi(out.c_str() + at + std::string("give --batch-size ").size());
  EXPECT_GT(fits, 32);
  EXPECT_LT(fits, 60000);
  std::tie(rc, out) = mednet("train" + common + " --batch-size " + std::to_string(fits) +
                                 " --max-memory 1000 --out " + home_ + "/big",
                             home_);
  EXPECT_EQ(rc, 0) << out;
  // What the process holds before training above the limit: no batch helps.
  std::tie(rc, out) = mednet("train" + common + " --max-memory 1 --out " + home_ + "/tiny", home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, "what the process holds already and the optimizer state do not fit")) << out;
  expect_usage_error("train" + common + " --max-memory -5 --out " + home_ + "/neg", "--max-memory");
}

}  // namespace
