// The experiment runner as a library call: every arm over the seeds, the report, finished runs
// skipped on a second call, and the overrides applied to every run.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/json.h"
#include "mednet/core/runtime.h"
#include "mednet/experiments/run_experiment.h"
#include "mednet/run/metrics_file.h"
#include "mednet/run/state.h"
#include "support/fixtures.h"

using namespace mednet;
namespace fs = std::filesystem;

namespace {
struct Messages : train::TrainObserver {
  std::vector<std::string> lines;
  void on_message(const std::string& text) override { lines.push_back(text); }
  int count(const std::string& part) const {
    int n = 0;
    for (const auto& l : lines) n += l.find(part) != std::string::npos;
    return n;
  }
};
}  // namespace

TEST(RunExperiment, RunsEveryArmThenSkipsFinishedRuns) {
  core::set_threads(2);
  const std::string root = mednet::testing::temp_dir("runexp_root");
  mednet::testing::write_fake_medmnist(root + "/retinamnist.npz", "retinamnist", 60, 20, 20);
  const std::string dir = mednet::testing::temp_dir("runexp");
  const std::string config = dir + "/exp.json";
  std::ofstream(config) << R"({"name": "t", "seeds": [0],
    "base": {"dataset": "retinamnist", "epochs": 5, "batch_size": 16, "device": "cpu", "patience": 0,
             "model": {"name": "cnn", "widths": [4, 8], "hidden": [8]}},
    "arms": [{"name": "a", "label": "arm A"},
             {"name": "b", "label": "arm B", "config": {"lr": 0.003, "distill": {"teacher": ["arm:a"]}}}]})";
  const experiments::ExperimentSpec e = experiments::load_experiment(config);
  experiments::ExperimentRunOptions o;
  o.check_md5 = false;
  o.override_config = [&](run::TrainConfig& c) {
    c.epochs = 2;  // as --epochs 2 would
    c.root = root;
  };
  const std::string out = dir + "/out";
  Messages first;
  const experiments::ExperimentOutcome r = experiments::run_experiment(e, config, out, o, first);
  EXPECT_FALSE(r.interrupted);
  EXPECT_FALSE(r.nan_loss);
  for (const char* arm : {"a", "b"}) {
    const std::string run_dir = experiments::run_dir(out, arm, 0);
    EXPECT_TRUE(run::run_finished(run_dir)) << run_dir;
    EXPECT_EQ(run::read_history(run::RunFiles(run_dir)).size(), 2u);  // the override, not the file's 5
  }
  EXPECT_NE(r.report.find("arm A"), std::string::npos) << r.report;
  EXPECT_NE(r.report.find("arm B"), std::string::npos) << r.report;
  EXPECT_TRUE(fs::exists(out + "/summary.md"));
  EXPECT_TRUE(fs::exists(out + "/summary.json"));
  EXPECT_TRUE(fs::exists(out + "/experiment.json"));
  // arm b learned from arm a's run, named by its folder in b's config.json
  const auto b_config = core::read_json_file(experiments::run_dir(out, "b", 0) + "/config.json", "config");
  EXPECT_EQ(b_config.at("distill").at("teacher"), nlohmann::json::array({experiments::run_dir(out, "a", 0)}));
  EXPECT_EQ(first.count("distillation from 1 teacher run"), 1);
  // The searches' rule: the higher mean validation AUC (then ACC) chooses, in summary.json and summary.md.
  double val[2], acc[2];
  for (int i = 0; i < 2; ++i) {
    const auto m = core::read_json_file(experiments::run_dir(out, i ? "b" : "a", 0) + "/metrics.json", "m");
    val[i] = m.at("val").at("auc").get<double>();
    acc[i] = m.at("val").at("acc").get<double>();
  }
  const bool b_wins = val[1] > val[0] || (val[1] == val[0] && acc[1] > acc[0]);
  const auto summary = core::read_json_file(out + "/summary.json", "summary");
  EXPECT_EQ(summary.at("chosen_by_validation"), b_wins ? "b" : "a");
  EXPECT_NE(r.report.find(std::string("Validation chooses **") + (b_wins ? "arm B" : "arm A") + "**"),
            std::string::npos)
      << r.report;
  EXPECT_EQ(first.count("=== [1/2]"), 1);
  EXPECT_EQ(first.count("already finished"), 0);

  Messages second;
  experiments::run_experiment(e, config, out, o, second);
  EXPECT_EQ(second.count("already finished"), 2);

  o.arms = {"nope"};
  EXPECT_THROW(experiments::run_experiment(e, config, out, o, second), Error);
}

TEST(RunExperiment, EnsembleOfTheSeedsIsScoredOnceAndReported) {
  core::set_threads(2);
  const std::string root = mednet::testing::temp_dir("runexp_ens_root");
  mednet::testing::write_fake_medmnist(root + "/retinamnist.npz", "retinamnist", 60, 20, 20);
  const std::string dir = mednet::testing::temp_dir("runexp_ens");
  const std::string config = dir + "/exp.json";
  std::ofstream(config) << R"({"name": "t", "seeds": [0, 1], "ensemble": true,
    "base": {"dataset": "retinamnist", "epochs": 2, "batch_size": 16, "device": "cpu", "patience": 0,
             "model": {"name": "cnn", "widths": [4, 8], "hidden": [8]}},
    "arms": [{"name": "a", "label": "arm A", "config": {"tta": "flips",
              "augment": [{"type": "flip", "axes": [0, 1], "p": 0.5}]}}]})";
  const experiments::ExperimentSpec e = experiments::load_experiment(config);
  EXPECT_TRUE(e.ensemble);
  experiments::ExperimentRunOptions o;
  o.check_md5 = false;
  o.root = root;
  o.override_config = [&](run::TrainConfig& c) { c.root = root; };
  const std::string out = dir + "/out";
  Messages first;
  const experiments::ExperimentOutcome r = experiments::run_experiment(e, config, out, o, first);
  const std::string ens = experiments::ensemble_dir(out, "a");
  ASSERT_TRUE(run::run_finished(ens));
  EXPECT_EQ(first.count("ensemble of 2 seeds"), 1);
  EXPECT_NE(r.report.find("Ensemble of the seeds"), std::string::npos) << r.report;
  const auto summary = core::read_json_file(out + "/summary.json", "summary");
  EXPECT_TRUE(summary.at("arms")[0].contains("ensemble"));
  // the members are scored as their runs scored themselves: with the arm's test-time flips
  const auto members = core::read_json_file(ens + "/ensemble.json", "ensemble");
  EXPECT_EQ(members.at("tta"), "flips");
  ASSERT_EQ(members.at("members").size(), 2u);
  for (const auto& m : members.at("members")) {
    const auto own = core::read_json_file(m.at("run").get<std::string>() + "/metrics.json", "metrics");
    for (const char* split : {"val", "test"}) {
      EXPECT_NEAR(m.at(split).at("auc").get<double>(), own.at(split).at("auc").get<double>(), 1e-9) << split;
      EXPECT_NEAR(m.at(split).at("acc").get<double>(), own.at(split).at("acc").get<double>(), 1e-9) << split;
    }
  }
  Messages second;
  experiments::run_experiment(e, config, out, o, second);
  EXPECT_EQ(second.count("ensemble of 2 seeds"), 0);  // already scored

  std::ofstream(config) << R"({"name": "t", "seeds": [0], "ensemble": true,
    "base": {"dataset": "retinamnist"}, "arms": [{"name": "a"}]})";
  try {
    experiments::load_experiment(config);
    FAIL() << "an ensemble of one seed was accepted";
  } catch (const Error& ex) {
    EXPECT_NE(std::string(ex.what()).find("needs two seeds or more"), std::string::npos) << ex.what();
  }
}

// "robustness": true scores every finished run (and each arm's ensemble) under corruption and compares the
// arms' drops seed by seed.
TEST(RunExperiment, ComparesTheArmsUnderCorruptionSeedBySeed) {
  core::set_threads(2);
  const std::string root = mednet::testing::temp_dir("runexp_rob_root");
  mednet::testing::write_fake_medmnist(root + "/retinamnist.npz", "retinamnist", 60, 20, 30);
  const std::string dir = mednet::testing::temp_dir("runexp_rob");
  const std::string config = dir + "/exp.json";
  std::ofstream(config) << R"({"name": "r", "seeds": [0, 1, 2], "robustness": true, "ensemble": true,
    "base": {"dataset": "retinamnist", "epochs": 1, "batch_size": 16, "device": "cpu", "patience": 0,
             "model": {"name": "cnn", "widths": [4], "hidden": [4]}},
    "arms": [{"name": "a", "label": "arm A"},
             {"name": "c", "label": "arm C", "config": {"augment": [{"type": "corrupt", "p": 0.5, "set": "retinamnist"}]}}]})";
  const experiments::ExperimentSpec e = experiments::load_experiment(config);
  EXPECT_TRUE(e.robustness);
  experiments::ExperimentRunOptions o;
  o.check_md5 = false;
  o.override_config = [&](run::TrainConfig& c) { c.root = root; };
  const std::string out = dir + "/out";
  Messages m;
  const experiments::ExperimentOutcome r = experiments::run_experiment(e, config, out, o, m);
  EXPECT_NE(r.report.find("Under corruption"), std::string::npos) << r.report;
  EXPECT_NE(r.report.find("arm C minus arm A, mean AUC drop under corruption, paired by seed (seed 0 "),
            std::string::npos)
      << r.report;
  // The paired differences, recomputed from the runs' own robustness.json files.
  std::vector<double> expected;
  for (uint64_t seed : {0, 1, 2}) {
    const auto drop = [&](const char* arm) {
      return core::read_json_file(experiments::run_dir(out, arm, seed) + "/robustness.json", "test")
          .at("mean_auc_drop")
          .get<double>();
    };
    expected.push_back(drop("c") - drop("a"));
  }
  const auto summary = core::read_json_file(out + "/summary.json", "test");
  const auto& c = summary.at("robustness").at("comparisons").at(0);
  ASSERT_EQ(c.at("per_seed").size(), 3u);
  for (size_t i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(c.at("per_seed")[i].get<double>(), expected[i]);
  const double mean = (expected[0] + expected[1] + expected[2]) / 3;
  EXPECT_NEAR(c.at("mean").get<double>(), mean, 1e-12);
  double var = 0;
  for (double v : expected) var += (v - mean) * (v - mean) / 2;
  EXPECT_NEAR(c.at("ci95")[1].get<double>() - mean, 4.302652729911275 * std::sqrt(var / 3),
              1e-8);  // scipy.stats.t.ppf(0.975, 2)
  // each arm's ensemble is scored too: its clean AUC is the ensemble's own test AUC
  EXPECT_NE(r.report.find("| arm C, ensemble of its seeds | - |"), std::string::npos) << r.report;
  for (const char* arm : {"a", "c"}) {
    const std::string ens = experiments::ensemble_dir(out, arm);
    const auto rob = core::read_json_file(ens + "/robustness.json", "test");
    EXPECT_EQ(rob.at("model").get<std::string>(), "ensemble of 3 cnn");
    EXPECT_NEAR(rob.at("clean").at("auc").get<double>(),
                core::read_json_file(ens + "/metrics.json", "test").at("test").at("auc").get<double>(), 1e-6);
  }
  const auto& arm_c = summary.at("robustness").at("arms").at(1);
  EXPECT_NEAR(arm_c.at("ensemble").at("mean_auc_drop").get<double>(),
              core::read_json_file(experiments::ensemble_dir(out, "c") + "/robustness.json", "test")
                  .at("mean_auc_drop")
                  .get<double>(),
              1e-12);
  // a second call finds the files and scores nothing again
  Messages again;
  experiments::run_experiment(e, config, out, o, again);
  EXPECT_EQ(again.count("robustness: "), 0);
  EXPECT_EQ(m.count("robustness: "), 8);
}
