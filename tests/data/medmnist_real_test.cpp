// Tests on the real MedMNIST files in $MEDMNIST_ROOT (label: real-data).
#include <cstdlib>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/json.h"
#include "mednet/core/runtime.h"
#include "mednet/data/dataset.h"
#include "mednet/experiments/experiment_spec.h"
#include "mednet/train/trainer.h"
#include "support/fixtures.h"

using namespace mednet;

namespace {

std::string root() {
  const char* r = std::getenv("MEDMNIST_ROOT");
  return r ? r : "";
}

TEST(RealData, FilesMatchTheCatalogExactly) {
  ASSERT_FALSE(root().empty()) << "set MEDMNIST_ROOT to the folder with the official files";
  for (const char* flag : {"adrenalmnist3d", "retinamnist", "breastmnist", "vesselmnist3d"}) {
    const auto& info = data::find_dataset(flag);
    data::Md5Status st{};
    const data::MedMnist m = data::open_medmnist(info, 28, root(), &st);
    EXPECT_NE(st, data::Md5Status::Unavailable) << flag;
    for (auto split : {data::Split::Train, data::Split::Val, data::Split::Test}) {
      EXPECT_EQ(m.split(split).size(), info.split_size(split)) << flag << " " << data::split_name(split);
    }
    std::vector<int64_t> shape{info.n_train, info.channels, 28, 28};
    if (info.volumetric) shape.push_back(28);
    EXPECT_EQ(m.train.images.sizes(), shape) << flag;
    // every class appears in the test split, so the official AUC is defined
    EXPECT_EQ(std::get<0>(torch::_unique(m.test.labels)).numel(), info.num_outputs()) << flag;
  }
}

TEST(RealData, ShortAdrenalTrainingLearns) {
  ASSERT_FALSE(root().empty()) << "set MEDMNIST_ROOT to the folder with the official files";
  core::set_threads(0);
  const auto& info = data::find_dataset("adrenalmnist3d");
  const data::MedMnist m = data::open_medmnist(info, 28, root());
  run::TrainConfig c;
  c.dataset = "adrenalmnist3d";
  c.model.widths = {16, 32, 64};
  c.epochs = 3;
  c.schedule = "constant";
  c.patience = 0;
  c.device = "cpu";
  train::Trainer t(c, m, mednet::testing::temp_dir("real_run"), c10::Device(c10::kCPU));
  train::TrainObserver quiet;
  const train::TrainResult r = t.run(quiet);
  ASSERT_EQ(r.epochs_run, 3);
  std::cout << "3 epochs: best val AUC " << r.val.scores.auc << ", test AUC " << r.test.scores.auc << " ACC "
            << r.test.scores.acc << "\n";
  EXPECT_GT(r.val.scores.auc, 0.65);
  EXPECT_GT(r.test.scores.auc, 0.6);
}

TEST(RealData, RetinaCnnWithTheExperimentsAugmentationLearns) {
  // Experiment 2A's augmented arm for 8 epochs on the real RetinaMNIST (RGB, ordinal scored as
  // multi-class): the augmentation runs on real batches and the model still learns.
  ASSERT_FALSE(root().empty()) << "set MEDMNIST_ROOT to the folder with the official files";
  core::set_threads(0);
  const experiments::ExperimentSpec e =
      experiments::load_experiment(MEDNET_SOURCE_DIR "/experiments/exp2a_cnn2d_retina.json");
  run::TrainConfig c = experiments::arm_config(e, experiments::find_arm(e, "augmentation"), 0);
  ASSERT_FALSE(c.augment.empty());
  c.epochs = 8;
  c.patience = 0;
  c.device = "cpu";
  const data::MedMnist m = data::open_medmnist(data::find_dataset("retinamnist"), 28, root());
  EXPECT_EQ(m.train.images.sizes(), (std::vector<int64_t>{1080, 3, 28, 28}));
  train::Trainer t(c, m, mednet::testing::temp_dir("real_retina"), c10::Device(c10::kCPU));
  train::TrainObserver quiet;
  const train::TrainResult r = t.run(quiet);
  ASSERT_EQ(r.epochs_run, 8);
  std::cout << "8 epochs: best val AUC " << r.val.scores.auc << ", test AUC " << r.test.scores.auc << " ACC "
            << r.test.scores.acc << "\n";
  EXPECT_GT(r.val.scores.auc, 0.75);
  EXPECT_GT(r.test.scores.auc, 0.68);
  EXPECT_EQ(r.test.probs.sizes(), (std::vector<int64_t>{400, 5}));
}

// BreastMNIST (2D ultrasound, 1 channel, binary) and VesselMNIST3D (3D MRA, binary, 1185 against 150
// in training): a short run of each learns, and the test result file it writes scores as the medmnist
// evaluator's rules score it (tests/scripts/medmnist_evaluator.py, scikit-learn) on the real labels.
TEST(RealData, BreastAndVesselRunsLearnAndScoreAsTheOfficialEvaluator) {
  ASSERT_FALSE(root().empty()) << "set MEDMNIST_ROOT to the folder with the official files";
  core::set_threads(0);
  struct Case {
    const char* flag;
    std::vector<int64_t> widths;
    int epochs;
    double min_val_auc;
  };
  for (const Case& k :
       {Case{"breastmnist", {16, 32, 64}, 8, 0.75}, Case{"vesselmnist3d", {8, 16, 32}, 3, 0.7}}) {
    const data::MedMnist m = data::open_medmnist(data::find_dataset(k.flag), 28, root());
    run::TrainConfig c;
    c.dataset = k.flag;
    c.root = root();
    c.model.widths = k.widths;
    c.epochs = k.epochs;
    c.schedule = "constant";
    c.patience = 0;
    c.device = "cpu";
    const std::string dir = mednet::testing::temp_dir(std::string("real_") + k.flag);
    train::Trainer t(c, m, dir, c10::Device(c10::kCPU));
    train::TrainObserver quiet;
    const train::TrainResult r = t.run(quiet);
    ASSERT_EQ(r.epochs_run, k.epochs) << k.flag;
    std::cout << k.flag << ", " << k.epochs << " epochs: best val AUC " << r.val.scores.auc << ", test AUC "
              << r.test.scores.auc << " ACC " << r.test.scores.acc << "\n";
    EXPECT_GT(r.val.scores.auc, k.min_val_auc) << k.flag;
    const nlohmann::json metrics = core::read_json_file(dir + "/metrics.json", "metrics", true);
    const std::string file = dir + "/" + metrics.at("test").at("result_file").get<std::string>();
    const auto [rc, out] = mednet::testing::run_command("/usr/bin/python3 " MEDNET_SOURCE_DIR
                                                        "/tests/scripts/medmnist_evaluator.py '" +
                                                        file + "' '" + root() + "'");
    ASSERT_EQ(rc, 0) << out;
    const nlohmann::json py = nlohmann::json::parse(out);
    // The result file holds probabilities to its printed precision; the scores agree to that.
    EXPECT_NEAR(py.at("auc").get<double>(), r.test.scores.auc, 1e-6) << k.flag;
    EXPECT_NEAR(py.at("acc").get<double>(), r.test.scores.acc, 1e-9) << k.flag;
  }
}

}  // namespace
