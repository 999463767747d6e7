#include "mednet/experiments/study_spec.h"

#include <fstream>

#include <gtest/gtest.h>

#include "mednet/core/error.h"
#include "mednet/experiments/robustness_experiment.h"
#include "support/fixtures.h"

using namespace mednet;

namespace {
std::string write(const std::string& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir + "/" + name) << text;
  return dir + "/" + name;
}
std::string study_usage_error(const std::string& path) {
  try {
    experiments::load_study(path);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage) << e.what();
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST(StudySpec, TheRepositorysStudyFileLoads) {
  const auto s = experiments::load_study(MEDNET_SOURCE_DIR "/experiments/study.json");
  ASSERT_EQ(s.stages.size(), 8u);
  EXPECT_EQ(s.stages[0].name, "exp1");
  EXPECT_EQ(s.stages[0].seeds, (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(s.stages[3].kind, experiments::StageKind::Cam);
  ASSERT_EQ(s.stages[4].cpu_skip.size(), 5u);  // the 3D 28-px-stem ResNet-18, and the 34- and 50-layer pairs
  EXPECT_EQ(s.stages[4].cpu_skip[0].arm, "resnet18-adrenal");
  EXPECT_EQ(s.stages[4].cpu_skip[2].arm, "plain34-retina");
  // Int8 after every run it converts: the CNNs, VGG16 (2B) and the ResNet-18s (3).
  EXPECT_EQ(s.stages[5].kind, experiments::StageKind::Quant);
  EXPECT_EQ(s.stages[5].name, "exp2d");
  EXPECT_EQ(s.stages[6].kind, experiments::StageKind::Trust);  // after every training stage
  EXPECT_EQ(experiments::stage_kind_name(s.stages[6].kind), "trust");
  EXPECT_EQ(s.stages[7].kind, experiments::StageKind::Robustness);  // on the runs of Experiments 1 and 2A
  EXPECT_EQ(experiments::stage_kind_name(s.stages[7].kind), "robustness");
  const auto r = experiments::load_robustness_experiment(MEDNET_SOURCE_DIR "/experiments/robustness.json");
  EXPECT_EQ(r.folders, (std::vector<std::string>{"runs/exp1", "runs/exp2a"}));
  ASSERT_TRUE(s.presets.count("quick") && s.presets.count("full"));
  EXPECT_EQ(s.presets.at("quick").seeds, (std::vector<uint64_t>{0}));
  EXPECT_TRUE(s.presets.at("full").seeds.empty());
}

TEST(StudySpec, RunPathsPointIntoTheStudyFolder) {
  const std::string dir = mednet::testing::temp_dir("study_spec");
  const std::string cam = write(dir, "cam.json",
                                R"({"methods": ["gradcam", "gradcampp"], "entries": [
      {"name": "a", "run": "runs/exp1"}, {"name": "b", "run": "runs/exp2a/augmentation/seed0"},
      {"name": "c", "run": "/abs/run"}]})");
  const std::string study = write(dir, "study.json",
                                  R"({"stages": [{"name": "exp2c", "kind": "cam", "file": ")" + cam +
                                      R"(", "runs": {"runs/exp1": "exp1/cnn3d/seed0"}}],
      "presets": {"quick": {"patch": {"exp2c": {"methods": ["gradcam"]}}}}})");
  const auto s = experiments::load_study(study);
  const auto j = experiments::effective_stage_file(s.stages[0], s.presets.at("quick"), "/out");
  EXPECT_EQ(j.at("methods"), nlohmann::json::array({"gradcam"}));
  EXPECT_EQ(j.at("entries").at(0).at("run"), "/out/exp1/cnn3d/seed0");
  EXPECT_EQ(j.at("entries").at(1).at("run"), "/out/exp2a/augmentation/seed0");
  EXPECT_EQ(j.at("entries").at(2).at("run"), "/abs/run");

  const std::string trust =
      write(dir, "trust.json", R"({"folders": ["runs/exp1", "runs/exp3", "/abs/runs"], "coverage": 0.9})");
  const auto t = experiments::load_study(write(dir, "study2.json",
                                               R"({"stages": [{"name": "trust", "kind": "trust", "file": ")" +
                                                   trust + R"("}], "presets": {"quick": {}}})"));
  const auto tj = experiments::effective_stage_file(t.stages[0], t.presets.at("quick"), "/out");
  EXPECT_EQ(tj.at("folders"), nlohmann::json::array({"/out/exp1", "/out/exp3", "/abs/runs"}));
}

TEST(StudySpec, BadStudyFilesAreUsageErrorsThatSayWhere) {
  const std::string dir = mednet::testing::temp_dir("study_spec_bad");
  EXPECT_NE(study_usage_error(write(dir, "a.json", R"({"stages": []})")).find("non-empty \"stages\""),
            std::string::npos);
  EXPECT_NE(
      study_usage_error(write(dir, "b.json", R"({"stages": [{"name": "x", "file": "f", "kind": "dance"}]})"))
          .find("kind must be train, cam, quant, trust or robustness"),
      std::string::npos);
  EXPECT_NE(
      study_usage_error(
          write(dir, "c.json", R"({"stages": [{"name": "x", "file": "f"}, {"name": "x", "file": "g"}]})"))
          .find("two stages are named 'x'"),
      std::string::npos);
  EXPECT_NE(study_usage_error(
                write(dir, "d.json",
                      R"({"stages": [{"name": "x", "file": "f"}], "presets": {"q": {"patch": {"y": {}}}}})"))
                .find("patch for unknown stage 'y'"),
            std::string::npos);
  EXPECT_NE(
      study_usage_error(write(dir, "e.json", R"({"stages": [{"name": "x", "file": "f", "seeds": [-1]}]})"))
          .find("seeds"),
      std::string::npos);
  EXPECT_NE(
      study_usage_error(write(dir, "f.json", R"({"stages": [{"name": "x", "file": "f", "colour": 1}]})"))
          .find("colour"),
      std::string::npos);
}

TEST(StudySpec, OtherDatasetsRenameTheStageFilesButNotTheFilesTheyName) {
  const std::string dir = mednet::testing::temp_dir("study_spec_datasets");
  const std::string exp = write(dir, "exp.json", R"J({"name": "exp2a_cnn2d_retina",
      "description": "2D CNN on RetinaMNIST; on its own: mednet experiment --config experiments/exp2a_cnn2d_retina.json",
      "base": {"dataset": "retinamnist"}, "arms": [{"name": "cnn-retina", "label": "CNN (Retina)"}],
      "other": {"dataset": "adrenalmnist3d", "arm": "resnet18-adrenal"}})J");
  const std::string study = write(dir, "study.json",
                                  R"({"name": "Study on AdrenalMNIST3D and RetinaMNIST",
      "datasets": {"2d": "retinamnist", "3d": "adrenalmnist3d"},
      "stages": [{"name": "exp2a", "file": ")" +
                                      exp + R"(", "arm": "cnn-retina",
                  "cpu_skip": [{"arm": "resnet18-adrenal", "why": "the 3D ResNet on AdrenalMNIST3D is slow"}],
                  "runs": {"runs/exp1-adrenal": "exp1/cnn-adrenal/seed0"}}],
      "presets": {"quick": {"patch": {"exp2a": {"note": "quick RetinaMNIST"}}}}})");
  const auto s = experiments::with_datasets(experiments::load_study(study), "organamnist", "vesselmnist3d");
  EXPECT_EQ(s.name, "Study on VesselMNIST3D and OrganAMNIST");
  EXPECT_EQ(s.dataset_2d, "organamnist");
  EXPECT_EQ(s.dataset_3d, "vesselmnist3d");
  // The study file's own words about the stage's arms follow the stage file: a CPU still skips the slow arm.
  EXPECT_EQ(s.stages[0].arm, "cnn-organa");
  ASSERT_EQ(s.stages[0].cpu_skip.size(), 1u);
  EXPECT_EQ(s.stages[0].cpu_skip[0].arm, "resnet18-vessel");
  EXPECT_EQ(s.stages[0].cpu_skip[0].why, "the 3D ResNet on VesselMNIST3D is slow");
  EXPECT_EQ(s.stages[0].runs,
            (std::map<std::string, std::string>{{"runs/exp1-vessel", "exp1/cnn-vessel/seed0"}}));
  const auto j = experiments::effective_stage_file(s.stages[0], s.presets.at("quick"), "/out");
  EXPECT_EQ(j.at("base").at("dataset"), "organamnist");
  EXPECT_EQ(j.at("arms").at(0).at("name"), "cnn-organa");
  EXPECT_EQ(j.at("arms").at(0).at("label"), "CNN (OrganA)");
  EXPECT_EQ(j.at("other").at("dataset"), "vesselmnist3d");
  EXPECT_EQ(j.at("other").at("arm"), "resnet18-vessel");
  EXPECT_EQ(j.at("note"), "quick OrganAMNIST");  // the preset's patch too
  EXPECT_EQ(j.at("name"), "exp2a_cnn2d_organa");
  EXPECT_EQ(
      j.at("description"),
      "2D CNN on OrganAMNIST; on its own: mednet experiment --config experiments/exp2a_cnn2d_retina.json");
  // Only one of the two, or the study's own: the rest stays.
  const auto same = experiments::with_datasets(experiments::load_study(study), "", "adrenalmnist3d");
  EXPECT_EQ(experiments::effective_stage_file(same.stages[0], same.presets.at("quick"), "/out"),
            experiments::effective_stage_file(experiments::load_study(study).stages[0],
                                              same.presets.at("quick"), "/out"));
}

TEST(StudySpec, AnUnknownOrWrongDimensionDatasetIsAUsageErrorNamingTheFlag) {
  const auto s = experiments::load_study(MEDNET_SOURCE_DIR "/experiments/study.json");
  EXPECT_EQ(s.dataset_2d, "retinamnist");
  EXPECT_EQ(s.dataset_3d, "adrenalmnist3d");
  const auto usage = [&](const std::string& d2, const std::string& d3) -> std::string {
    try {
      experiments::with_datasets(s, d2, d3);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage) << e.what();
      return e.what();
    }
    return "no error";
  };
  EXPECT_NE(usage("nodulemnist3d", "")
                .find("--dataset-2d nodulemnist3d is a 3D dataset; --dataset-2d takes a 2D one"),
            std::string::npos);
  EXPECT_NE(usage("", "chestmnist").find("--dataset-3d chestmnist is a 2D dataset"), std::string::npos);
  EXPECT_NE(usage("chestmnsit", "").find("unknown dataset 'chestmnsit'"), std::string::npos);
}
