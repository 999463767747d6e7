// Paired comparisons of arms, from run folders made by hand: the same scores give exactly zero, a
// better arm's interval excludes zero, and a missing run is named instead of failing the report.
#include "mednet/experiments/arm_comparison.h"

#include <filesystem>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/dataset.h"
#include "mednet/experiments/experiment_spec.h"
#include "mednet/run/run_files.h"
#include "mednet/run/split_results.h"
#include "support/fixtures.h"

using namespace mednet;

namespace {

experiments::ExperimentSpec arms_spec(const std::string& root, const std::string& extra = "") {
  return experiments::experiment_from_json(nlohmann::json::parse(
      R"({"name": "t", "seeds": [0, 1], "base": {"dataset": "adrenalmnist3d", "root": ")" + root +
      R"(", "model": {"name": "cnn", "widths": [4], "hidden": [4]}},
      "arms": [{"name": "plain", "label": "plain"}, {"name": "better", "label": "better"}, {"name": "same", "label": "same"}])" +
      extra + "}"));
}

// A finished run whose class-1 score is the label plus noise of the given size.
void fake_run(const std::string& dir, const at::Tensor& labels, double noise, uint64_t seed,
              const std::string& data_file = "") {
  std::filesystem::create_directories(dir);
  torch::manual_seed(seed);
  const at::Tensor y = labels.squeeze(1).to(torch::kDouble);
  const at::Tensor p1 = torch::sigmoid((y - 0.5) * 2 + noise * torch::randn({y.size(0)}, torch::kDouble));
  engine::Evaluation ev;
  ev.probs = torch::stack({1 - p1, p1}, 1);
  ev.scores = metrics::evaluate(data::Task::BinaryClass, labels, ev.probs);
  run::RunMetrics m;
  m.dataset = "adrenalmnist3d";
  m.model = "cnn";
  m.seed = seed;
  m.data_file = data_file;
  m.val = run::record_split(dir, {"adrenalmnist3d", 28, "val", "seed" + std::to_string(seed)},
                            data::Task::BinaryClass, labels, ev);
  m.test = run::record_split(dir, {"adrenalmnist3d", 28, "test", "seed" + std::to_string(seed)},
                             data::Task::BinaryClass, labels, ev);
  run::write_metrics(run::RunFiles(dir).metrics(), m);
}

}  // namespace

TEST(ArmComparison, DefaultComparesEachArmWithTheFirst) {
  const auto e = arms_spec("/nowhere");
  ASSERT_EQ(e.comparisons.size(), 2u);
  EXPECT_EQ(e.comparisons[0].a, "better");
  EXPECT_EQ(e.comparisons[0].b, "plain");
  EXPECT_THROW(arms_spec("/nowhere", R"(, "comparisons": [{"a": "better", "b": "nope"}])"), Error);
  EXPECT_THROW(arms_spec("/nowhere", R"(, "comparisons": [{"a": "better"}])"), Error);
}

TEST(ArmComparison, PairedDifferencesFromTheRunsResultFiles) {
  const std::string root = mednet::testing::temp_dir("cmp_root");
  mednet::testing::write_fake_medmnist(root + "/adrenalmnist3d.npz", "adrenalmnist3d", 10, 10, 300);
  const at::Tensor labels =
      data::open_medmnist(data::find_dataset("adrenalmnist3d"), 28, root, nullptr, false).test.labels;
  const auto e =
      arms_spec(root, R"(, "comparisons": [{"a": "better", "b": "plain"}, {"a": "same", "b": "plain"}])");
  const std::string out = mednet::testing::temp_dir("cmp_out");
  for (uint64_t s : {0, 1}) {
    fake_run(experiments::run_dir(out, "plain", s), labels, 3.0, 10 + s);
    fake_run(experiments::run_dir(out, "better", s), labels, 0.5, 20 + s);
  }
  fake_run(experiments::run_dir(out, "same", 0), labels, 3.0, 10);  // seed 1 of "same" is missing
  const auto arms = experiments::collect_results(e, out);
  const auto cs = experiments::compare_arms(e, arms);
  ASSERT_EQ(cs.size(), 2u);
  EXPECT_TRUE(cs[0].missing.empty()) << cs[0].missing;
  EXPECT_EQ(cs[0].test_samples, 300);
  EXPECT_EQ(cs[0].seeds_a, 2u);
  EXPECT_GT(cs[0].diff.auc_ci.lo, 0.0);
  EXPECT_NE(experiments::conclusion(cs[0]).find("interval excludes 0"), std::string::npos);
  // "same" seed 0 is plain seed 0 exactly; plain also has seed 1, so the difference is not zero but
  // small, and its one seed is used.
  EXPECT_EQ(cs[1].seeds_a, 1u);
  const nlohmann::json j = experiments::comparisons_json(cs);
  EXPECT_EQ(j.at(0).at("auc_diff_ci95").size(), 2u);
  EXPECT_NE(experiments::comparisons_markdown(cs).find("| better | plain |"), std::string::npos);

  // The experiment file names no folder that holds the data (a study given --root): the labels come from
  // the file the runs were scored on, which their metrics.json names.
  const auto elsewhere = arms_spec("/nowhere");
  const std::string out2 = mednet::testing::temp_dir("cmp_out2");
  for (uint64_t s : {0, 1}) {
    fake_run(experiments::run_dir(out2, "plain", s), labels, 3.0, 10 + s, root + "/adrenalmnist3d.npz");
    fake_run(experiments::run_dir(out2, "better", s), labels, 0.5, 20 + s, root + "/adrenalmnist3d.npz");
  }
  const auto cs3 = experiments::compare_arms(elsewhere, experiments::collect_results(elsewhere, out2));
  EXPECT_TRUE(cs3[0].missing.empty()) << cs3[0].missing;
  EXPECT_EQ(cs3[0].diff.auc_ci.lo, cs[0].diff.auc_ci.lo);

  // A run without its result file is reported, not fatal.
  for (const auto& f : std::filesystem::directory_iterator(experiments::run_dir(out, "better", 1)))
    if (f.path().extension() == ".csv") std::filesystem::remove(f.path());
  const auto arms2 = experiments::collect_results(e, out);
  const auto cs2 = experiments::compare_arms(e, arms2);
  EXPECT_NE(cs2[0].missing.find("better/seed1"), std::string::npos) << cs2[0].missing;
  EXPECT_NE(experiments::conclusion(cs2[0]).find("not computed"), std::string::npos);
}

TEST(ArmComparison, TheConclusionNamesEachScoreWhoseIntervalExcludesZero) {
  experiments::ArmSpec sa{"ema", "with EMA", {}}, sb{"plain", "plain", {}};
  experiments::ArmResult a, b;
  a.arm = &sa;
  b.arm = &sb;
  experiments::ArmComparison c;
  c.a = &a;
  c.b = &b;
  c.seeds_a = c.seeds_b = 3;
  c.test_samples = 298;
  c.diff.auc = 0.001;
  c.diff.auc_ci = {-0.012, 0.014};
  c.diff.acc = 0.194;
  c.diff.acc_ci = {0.159, 0.226};
  const std::string acc_only = experiments::conclusion(c);
  EXPECT_NE(acc_only.find("the ACC interval excludes 0: with EMA labels more test images correctly (AUC not "
                          "distinguishable)"),
            std::string::npos)
      << acc_only;
  EXPECT_EQ(acc_only.find("not distinguishable at this test-set size"), std::string::npos) << acc_only;
  c.diff.acc_ci = {-0.01, 0.03};
  EXPECT_NE(experiments::conclusion(c).find("not distinguishable at this test-set size (298 images)"),
            std::string::npos);
}
