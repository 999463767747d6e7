// run/ensemble.h: the ensemble's probabilities are the mean of its members' (as their own runs scored
// them), written as a run folder's metrics.json and result files; runs that do not fit together, and an
// --out that is a run, are usage errors naming the folder.
#include <filesystem>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/runtime.h"
#include "mednet/run/ensemble.h"
#include "mednet/run/metrics_file.h"
#include "mednet/train/trainer.h"
#include "support/errors.h"
#include "support/fixtures.h"

using namespace mednet;
namespace fs = std::filesystem;
using mednet::testing::error_of;

class EnsembleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = mednet::testing::temp_dir("ensemble_data");
    mednet::testing::write_fake_medmnist(dir_ + "/nodulemnist3d.npz", "nodulemnist3d", 64, 32, 40);
    data_ = new data::MedMnist(
        data::load_medmnist(data::find_dataset("nodulemnist3d"), 28, dir_ + "/nodulemnist3d.npz"));
    core::set_threads(2);
    for (uint64_t seed : {1, 2}) {
      run::TrainConfig c;
      c.dataset = "nodulemnist3d";
      c.root = dir_;
      c.model.widths = {4, 8};
      c.model.hidden = {16};
      c.epochs = 2;
      c.batch_size = 16;
      c.patience = 0;
      c.seed = seed;
      c.device = "cpu";
      c.augment = {augment::TransformSpec{"flip", 0.5, 0, {2}}};
      runs_.push_back(mednet::testing::temp_dir("ensemble_member"));
      train::Trainer t(c, *data_, runs_.back(), c10::Device(c10::kCPU));
      train::TrainObserver quiet;
      results_.push_back(t.run(quiet));
    }
  }
  static void TearDownTestSuite() { delete data_; }

  static run::EnsembleOptions options() {
    run::EnsembleOptions o;
    o.check_md5 = false;
    return o;
  }

  static inline std::string dir_;
  static inline data::MedMnist* data_ = nullptr;
  static inline std::vector<std::string> runs_;
  static inline std::vector<train::TrainResult> results_;
};

TEST_F(EnsembleTest, MeanOfTheMembersProbabilitiesWrittenAsARunFolder) {
  const std::string out = mednet::testing::temp_dir("ensemble_out") + "/ens";
  const run::Ensemble e = run::ensemble_runs(runs_, out, options());
  ASSERT_EQ(e.members.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {  // each member scores as its own run did
    EXPECT_TRUE(torch::allclose(e.members[i].test.probs, results_[i].test.probs, 1e-5, 1e-6));
    EXPECT_NEAR(e.members[i].val.scores.auc, results_[i].val.scores.auc, 1e-9);
  }
  const at::Tensor mean = (results_[0].test.probs + results_[1].test.probs) / 2;
  EXPECT_TRUE(torch::allclose(e.test.probs, mean, 1e-5, 1e-6));
  EXPECT_EQ(e.test.probs.sizes(), (std::vector<int64_t>{40, 2}));
  EXPECT_TRUE(run::run_finished(out));
  const nlohmann::json m = run::read_metrics_json(out + "/metrics.json");
  EXPECT_NEAR(m.at("test").at("auc").get<double>(), e.test.scores.auc, 1e-12);
  EXPECT_TRUE(fs::exists(out + "/" + e.metrics.test->result_file));
  const nlohmann::json j = core::read_json_file(out + "/ensemble.json", "ensemble");
  ASSERT_EQ(j.at("members").size(), 2u);
  EXPECT_EQ(j.at("members")[1].at("seed").get<uint64_t>(), 2u);

  // with test-time flips each member is its mean over the flips it trained with
  const std::string out_tta = mednet::testing::temp_dir("ensemble_tta");
  run::EnsembleOptions o = options();
  o.tta = "flips";
  const run::Ensemble t = run::ensemble_runs(runs_, out_tta, o);
  EXPECT_FALSE(torch::allclose(t.test.probs, e.test.probs, 1e-5, 1e-6));
  EXPECT_EQ(j.at("tta"), "none");
  EXPECT_EQ(core::read_json_file(out_tta + "/ensemble.json", "ensemble").at("tta"), "flips");
  EXPECT_NE(run::read_metrics_json(out + "/metrics.json").at("selection").get<std::string>().find("mean of"),
            std::string::npos);
  EXPECT_EQ(j.at("members")[0].at("calibration"), "none");
  // with a calibration hook each member's probabilities pass through it before the mean
  const std::string out_cal = mednet::testing::temp_dir("ensemble_cal");
  run::EnsembleOptions co = options();
  co.calibrate = [](const std::string&, const at::Tensor& probs, std::string* how) {
    *how = "squared";
    const at::Tensor q = probs * probs;
    return q / q.sum(1, true);
  };
  const run::Ensemble cal = run::ensemble_runs(runs_, out_cal, co);
  const auto sharpened = [&](const at::Tensor& p) { return p * p / (p * p).sum(1, true); };
  EXPECT_TRUE(torch::allclose(cal.test.probs,
                              (sharpened(results_[0].test.probs) + sharpened(results_[1].test.probs)) / 2,
                              1e-5, 1e-6));
  EXPECT_EQ(core::read_json_file(out_cal + "/ensemble.json", "ensemble").at("members")[1].at("calibration"),
            "squared");
  EXPECT_NE(cal.metrics.test->result_file.find("@ensemble-calibrated.csv"), std::string::npos)
      << cal.metrics.test->result_file;

  // "own": each member as its run scored itself; here the second run's config asks for flips
  const std::string flipped = mednet::testing::temp_dir("ensemble_own_member");
  fs::copy(runs_[1], flipped, fs::copy_options::recursive);
  nlohmann::json c = core::read_json_file(flipped + "/config.json", "config");
  c["tta"] = "flips";
  core::write_file_atomic(flipped + "/config.json", c.dump());
  const std::string out_own = mednet::testing::temp_dir("ensemble_own");
  o.tta = "own";
  const run::Ensemble own = run::ensemble_runs({runs_[0], flipped}, out_own, o);
  EXPECT_EQ(own.members[0].tta, "none");
  EXPECT_EQ(own.members[1].tta, "flips");
  EXPECT_TRUE(torch::allclose(own.members[0].test.probs, e.members[0].test.probs, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(own.members[1].test.probs, t.members[1].test.probs, 1e-5, 1e-6));
  const nlohmann::json oj = core::read_json_file(out_own + "/ensemble.json", "ensemble");
  EXPECT_EQ(oj.at("tta"), "mixed");
  EXPECT_EQ(oj.at("members")[1].at("tta"), "flips");
  o.tta = "sometimes";
  EXPECT_NE(
      error_of([&] { run::ensemble_runs(runs_, out_own + "x", o); }).find("--tta must be none, flips or own"),
      std::string::npos);
}

TEST_F(EnsembleTest, RunsThatDoNotFitTogetherAreUsageErrorsNamingTheFolder) {
  const std::string other = mednet::testing::temp_dir("ensemble_other");
  fs::copy(runs_[1], other, fs::copy_options::recursive);
  nlohmann::json c = core::read_json_file(other + "/config.json", "config");
  c["size"] = 64;
  core::write_file_atomic(other + "/config.json", c.dump());
  const std::string out = mednet::testing::temp_dir("ensemble_bad");
  EXPECT_NE(error_of([&] {
              run::ensemble_runs({runs_[0], other}, out, options());
            }).find("run " + other + " is on nodulemnist3d 64 px"),
            std::string::npos);
  EXPECT_NE(error_of([&] { run::ensemble_runs({runs_[0]}, out, options()); }).find("at least two runs"),
            std::string::npos);
  EXPECT_NE(error_of([&] { run::ensemble_runs(runs_, runs_[0], options()); }).find("holds a training run"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              run::ensemble_runs({runs_[0], out}, out + "x", options());
            }).find("is not a run directory"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(out + "/metrics.json"));
}
