// The CAM study as a library call: a run folder made here (config.json and best.pt of an untrained
// CNN on a generated RetinaMNIST file), its maps, pictures, faithfulness numbers and cam.json.
#include <filesystem>
#include <set>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/data/catalog.h"
#include "mednet/data/npy.h"
#include "mednet/explain/cam_study.h"
#include "mednet/models/registry.h"
#include "mednet/run/checkpoint.h"
#include "mednet/run/config.h"
#include "mednet/run/run_files.h"
#include "support/fixtures.h"

using namespace mednet;
namespace fs = std::filesystem;

namespace {

// A run folder that open_run accepts: the generated file's folder as root, a tiny CNN's weights.
std::string make_run() {
  const std::string root = mednet::testing::temp_dir("cam_study_root");
  mednet::testing::write_fake_medmnist(root + "/retinamnist.npz", "retinamnist", 40, 20, 30);
  const std::string dir = mednet::testing::temp_dir("cam_study_run");
  run::TrainConfig c;
  c.dataset = "retinamnist";
  c.root = root;
  c.model.widths = {4, 8};
  c.model.hidden = {8};
  torch::manual_seed(2);
  models::Classifier m =
      models::make_model(c.model, data::input_shape(data::find_dataset("retinamnist"), 28));
  run::write_config(run::RunFiles(dir).config(), c);
  run::save_module(*m, run::RunFiles(dir).best());
  return dir;
}

}  // namespace

TEST(CamStudy, WritesMapsAndFaithfulnessForChosenSamples) {
  core::set_threads(2);
  explain::CamStudyOptions o;
  o.run = make_run();
  o.out = mednet::testing::temp_dir("cam_study_out");
  o.samples = 5;
  o.check_md5 = false;
  o.device = "cpu";
  const explain::CamStudyResult r = explain::run_cam_study(o);

  const auto& samples = r.summary.at("samples");
  ASSERT_EQ(samples.size(), 5u);
  // per-class: round robin over the true classes, so the first five have five different classes
  std::set<int64_t> classes;
  for (const auto& s : samples) classes.insert(s.at("true").get<int64_t>());
  EXPECT_EQ(classes.size(), 5u);
  const at::Tensor maps = data::load_npy(o.out + "/heatmaps.npy");
  EXPECT_EQ(maps.sizes(), (std::vector<int64_t>{5, 28, 28}));
  EXPECT_EQ(data::load_npy(o.out + "/indices.npy").size(0), 5);
  EXPECT_EQ(r.summary.at("deletion_by_fill").size(), 3u);
  EXPECT_EQ(r.summary.at("deletion").at("by_map").size(), 6u);
  EXPECT_EQ(r.summary.at("method"), "gradcam");
  for (const auto& f : r.written) EXPECT_TRUE(fs::exists(o.out + "/" + f)) << f;
  EXPECT_TRUE(fs::exists(o.out + "/cam.json"));
  EXPECT_NE(r.text.find("faithfulness"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("model randomisation"), std::string::npos) << r.text;
}

TEST(CamStudy, ChosenIndicesAreExplainedAndOneOutOfRangeNamesTheFlag) {
  core::set_threads(2);
  explain::CamStudyOptions o;
  o.run = make_run();
  o.out = mednet::testing::temp_dir("cam_study_indices");
  o.check_md5 = false;
  o.device = "cpu";
  o.indices = {4, 0, 7};
  const explain::CamStudyResult r = explain::run_cam_study(o);
  ASSERT_EQ(r.summary.at("samples").size(), 3u);
  EXPECT_EQ(r.summary.at("samples")[0].at("index").get<int64_t>(), 4);
  EXPECT_EQ(r.summary.at("samples")[2].at("index").get<int64_t>(), 7);
  o.indices = {0, 30};  // the generated test split has 30 samples
  try {
    explain::run_cam_study(o);
    FAIL() << "an index out of range was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("--indices: sample 30 is out of range"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("has 30 samples"), std::string::npos) << e.what();
  }
}

TEST(CamStudy, BadTargetAndMissingRunAreUsageErrors) {
  explain::CamStudyOptions o;
  o.run = make_run();
  o.out = mednet::testing::temp_dir("cam_study_bad");
  o.samples = 2;
  o.check_md5 = false;
  o.device = "cpu";
  o.target = "9";  // RetinaMNIST has 5 classes
  try {
    explain::run_cam_study(o);
    ADD_FAILURE() << "class 9 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("--target must be predicted, true or a class index 0..4"),
              std::string::npos)
        << e.what();
  }
  o.target = "predicted";
  o.run = mednet::testing::temp_dir("cam_study_not_a_run");
  try {
    explain::run_cam_study(o);
    ADD_FAILURE() << "a folder without config.json was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a run directory"), std::string::npos) << e.what();
  }
}
