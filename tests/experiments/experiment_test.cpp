#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/experiments/experiment_report.h"
#include "mednet/experiments/experiment_spec.h"
#include "support/fixtures.h"

using namespace mednet;
using nlohmann::json;

namespace {

json two_arms() {
  return json::parse(R"({
    "name": "cmp", "seeds": [0, 1],
    "base": {"dataset": "retinamnist", "epochs": 5, "model": {"name": "cnn", "widths": [8, 16]}},
    "arms": [
      {"name": "plain", "config": {}},
      {"name": "aug", "label": "with flips", "config": {"augment": [{"type": "flip", "axes": [1]}], "lr": 0.01}},
      {"name": "res", "config": {"model": {"name": "resnet18", "widths": null}}}
    ]})");
}

std::string usage_error(const json& j) {
  try {
    experiments::experiment_from_json(j);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << j.dump();
  return "";
}

TEST(Experiment, ArmsMergeOverTheBase) {
  const auto e = experiments::experiment_from_json(two_arms());
  ASSERT_EQ(e.arms.size(), 3u);
  EXPECT_EQ(e.seeds, (std::vector<uint64_t>{0, 1}));
  const auto plain = experiments::arm_config(e, e.arms[0], 1);
  EXPECT_EQ(plain.seed, 1u);
  EXPECT_EQ(plain.epochs, 5);
  EXPECT_TRUE(plain.augment.empty());
  EXPECT_EQ(plain.name, "cmp/plain");
  const auto aug = experiments::arm_config(e, e.arms[1], 0);
  ASSERT_EQ(aug.augment.size(), 1u);
  EXPECT_EQ(aug.augment[0].type, "flip");
  EXPECT_DOUBLE_EQ(aug.lr, 0.01);
  EXPECT_EQ(aug.model.widths, (std::vector<int64_t>{8, 16}));  // kept from the base
  EXPECT_EQ(e.arms[1].label, "with flips");
  const auto res = experiments::arm_config(e, e.arms[2], 0);
  EXPECT_EQ(res.model.name, "resnet18");
  EXPECT_TRUE(res.model.widths.empty());  // null removes the base's CNN widths
  EXPECT_EQ(experiments::run_dir("/o", "aug", 2), "/o/aug/seed2");
}

TEST(Experiment, BadFilesAreUsageErrorsThatSayWhere) {
  json j = two_arms();
  j["arms"] = json::array();
  EXPECT_NE(usage_error(j).find("\"arms\""), std::string::npos);
  j = two_arms();
  j["arms"][1]["name"] = "plain";
  EXPECT_NE(usage_error(j).find("two arms are named 'plain'"), std::string::npos);
  j = two_arms();
  j["arms"][1]["config"]["lr"] = -1;
  EXPECT_NE(usage_error(j).find("arm 'aug'"), std::string::npos);
  j = two_arms();
  j["arms"][0]["name"] = "../up";
  EXPECT_NE(usage_error(j).find("names a folder"), std::string::npos);
  j = two_arms();
  j["gradient_flow"] = {"plain", "nosuch"};
  EXPECT_NE(usage_error(j).find("no arm named 'nosuch'"), std::string::npos);
  j = two_arms();
  j["repeats"] = 3;
  EXPECT_NE(usage_error(j).find("unknown key 'repeats'"), std::string::npos);
  // a single-run config loader refuses an experiment file and says what to run instead
  try {
    run::config_from_json(two_arms());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mednet experiment"), std::string::npos);
  }
}

TEST(ExperimentReport, MeanAndSampleSd) {
  auto [m, sd] = experiments::mean_sd({1, 2, 3, 4});
  EXPECT_DOUBLE_EQ(m, 2.5);
  EXPECT_NEAR(sd, 1.2909944487358056, 1e-12);
  EXPECT_TRUE(std::isnan(experiments::mean_sd({5}).second));
  EXPECT_TRUE(std::isnan(experiments::mean_sd({}).first));
}

}  // namespace

TEST(Experiment, TeacherArmsNameEarlierArmsAndBecomeTheirSeedsRuns) {
  json j = json::parse(R"({
    "name": "kd", "seeds": [0, 1],
    "base": {"dataset": "retinamnist", "epochs": 5},
    "arms": [
      {"name": "teacher", "config": {}},
      {"name": "student", "config": {"distill": {"teacher": ["arm:teacher", "/elsewhere/run"]}}}
    ]})");
  const auto e = experiments::experiment_from_json(j);
  run::TrainConfig c = experiments::arm_config(e, e.arms[1], 0);
  experiments::resolve_teachers(c, e, "/o");
  EXPECT_EQ(c.distill.teachers,
            (std::vector<std::string>{"/o/teacher/seed0", "/o/teacher/seed1", "/elsewhere/run"}));
  std::swap(j["arms"][0], j["arms"][1]);
  EXPECT_NE(usage_error(j).find("must name an arm listed before this one"), std::string::npos);
  j["arms"][0]["config"]["distill"]["teacher"] = json::array({"arm:nobody"});
  EXPECT_NE(usage_error(j).find("arm:nobody"), std::string::npos);
}

TEST(ExperimentSpec, TheCorruptionTrainedRecipeFileLoads) {
  const auto e = mednet::experiments::load_experiment(MEDNET_SOURCE_DIR "/experiments/exp2a_robust.json");
  ASSERT_EQ(e.arms.size(), 2u);
  EXPECT_EQ(e.seeds, (std::vector<uint64_t>{0, 1, 2}));
  const auto c =
      mednet::experiments::arm_config(e, mednet::experiments::find_arm(e, "corruption-trained"), 0);
  ASSERT_FALSE(c.augment.empty());
  EXPECT_EQ(c.augment.back().type, "corrupt");
  EXPECT_EQ(c.augment.back().set, "retinamnist");
  const auto s = mednet::experiments::arm_config(e, mednet::experiments::find_arm(e, "study-recipe"), 0);
  EXPECT_EQ(s.augment.size() + 1, c.augment.size());  // the same recipe, the corruptions added
  ASSERT_EQ(e.comparisons.size(), 1u);
}

TEST(ExperimentSpec, TheArtifactTrainedExperiment1FileLoads) {
  const auto e = mednet::experiments::load_experiment(MEDNET_SOURCE_DIR "/experiments/exp1_robust.json");
  EXPECT_TRUE(e.robustness);
  const auto c = mednet::experiments::arm_config(e, mednet::experiments::find_arm(e, "artifact-trained"), 1);
  ASSERT_EQ(c.augment.size(), 1u);
  EXPECT_EQ(c.augment[0].set, "ct-mri");
  EXPECT_EQ(c.dataset, "adrenalmnist3d");
  // the study recipe is Experiment 1's own config
  const auto s = mednet::experiments::arm_config(e, mednet::experiments::find_arm(e, "study-recipe"), 1);
  EXPECT_TRUE(s.augment.empty());
  EXPECT_EQ(s.model.widths, (std::vector<int64_t>{32, 64, 128}));
}
