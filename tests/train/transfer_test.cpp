// Transfer learning in the trainer: weights from a file or another run, frozen blocks, the per-group
// learning rate, and the cached features of a frozen backbone.
#include <cstdlib>
#include <filesystem>
#include <map>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/data/dataset.h"
#include "mednet/models/registry.h"
#include "mednet/models/weights.h"
#include "mednet/run/checkpoint.h"
#include "mednet/run/config.h"
#include "mednet/train/trainer.h"
#include "support/fixtures.h"

using namespace mednet;
using namespace mednet::train;
using namespace mednet::run;
using namespace mednet::engine;
namespace fs = std::filesystem;

namespace {

class TransferTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = mednet::testing::temp_dir("transfer");
    mednet::testing::write_fake_medmnist(dir_ + "/retinamnist.npz", "retinamnist", 40, 20, 20);
    data_ = new data::MedMnist(
        data::load_medmnist(data::find_dataset("retinamnist"), 28, dir_ + "/retinamnist.npz"));
    core::set_threads(2);
    setenv("MEDNET_CACHE", (dir_ + "/empty-cache").c_str(), 1);
  }
  static void TearDownTestSuite() {
    delete data_;
    unsetenv("MEDNET_CACHE");
  }

  static TrainConfig vgg(int epochs) {
    TrainConfig c;
    c.dataset = "retinamnist";
    c.model.name = "vgg16";
    c.model.input_size = 32;
    c.model.hidden = {16};
    c.epochs = epochs;
    c.batch_size = 20;
    c.schedule = "constant";
    c.patience = 0;
    c.seed = 5;
    c.device = "cpu";
    return c;
  }

  static std::map<std::string, at::Tensor> params_of(models::ClassifierImpl& m) {
    std::map<std::string, at::Tensor> out;
    for (const auto& p : m.named_parameters()) out[p.key()] = p.value().detach().clone();
    return out;
  }

  static inline std::string dir_;
  static inline data::MedMnist* data_ = nullptr;
};

struct Notes : TrainObserver {
  std::string text;
  void on_message(const std::string& t) override { text += t + "\n"; }
};

TEST_F(TransferTest, MissingImagenetWeightsAreSaidLoudlyAndRecorded) {
  TrainConfig c = vgg(1);
  c.transfer.weights = "imagenet";
  c.transfer.freeze = -1;
  Trainer t(c, *data_, mednet::testing::temp_dir("run"), c10::Device(c10::kCPU));
  Notes n;
  const TrainResult r = t.run(n);
  EXPECT_NE(n.text.find("NO PRETRAINED WEIGHTS"), std::string::npos) << n.text;
  EXPECT_NE(n.text.find("NOT transfer learning"), std::string::npos);
  EXPECT_EQ(r.backbone, "random-init");
}

TEST_F(TransferTest, FrozenBackboneKeepsTheFileWeightsAndTrainsTheHeadOnCachedFeatures) {
  // A weights file made from another random VGG16.
  torch::manual_seed(99);
  models::ModelSpec spec = vgg(1).model;
  models::Classifier donor = models::make_model(spec, mednet::data::input_shape(*data_->info, 28));
  const std::string file = dir_ + "/donor.safetensors";
  mednet::testing::write_safetensors(file, models::state_dict(*donor));

  TrainConfig c = vgg(2);
  c.transfer.weights = file;
  c.transfer.freeze = -1;
  const std::string out = mednet::testing::temp_dir("run");
  Trainer t(c, *data_, out, c10::Device(c10::kCPU));
  const auto before = params_of(t.model());
  EXPECT_TRUE(torch::equal(before.at("features.0.weight"), donor->named_parameters()["features.0.weight"]));
  EXPECT_EQ(models::count_parameters(t.model()), 512 * 16 + 16 + 16 * 5 + 5);  // only the head trains
  Notes n;
  const TrainResult r = t.run(n);
  EXPECT_TRUE(r.feature_cache);
  EXPECT_EQ(r.backbone, "pretrained: " + file);
  EXPECT_NE(n.text.find("features of 60 images cached"), std::string::npos) << n.text;
  const auto after = params_of(t.model());
  for (const auto& [name, value] : after) {
    if (name.rfind("features.", 0) == 0) {
      EXPECT_TRUE(torch::equal(value, before.at(name))) << name;
    }
  }
  EXPECT_FALSE(torch::equal(after.at("head.0.weight"), before.at("head.0.weight")));
  // The cached validation scores are those of the whole network.
  const Evaluation full = evaluate_model(t.model(), data_->val, data_->info->task, torch::kCPU, 7);
  EXPECT_NEAR(full.scores.auc, r.history[r.best_epoch - 1].val_auc, 1e-6);
  EXPECT_NEAR(full.loss, r.history[r.best_epoch - 1].val_loss, 1e-4);
}

TEST_F(TransferTest, PartialFreezeTrainsOnlyTheLaterBlocksAtTheirOwnRate) {
  TrainConfig c = vgg(1);
  c.transfer.freeze = 3;
  c.transfer.backbone_lr_scale = 0.1;
  c.lr = 1e-3;
  Trainer t(c, *data_, mednet::testing::temp_dir("run"), c10::Device(c10::kCPU));
  const auto before = params_of(t.model());
  Notes n;
  const TrainResult r = t.run(n);
  EXPECT_FALSE(r.feature_cache);
  const auto after = params_of(t.model());
  for (const auto& [name, value] : after) {
    const int block = t.model().block_of(name);
    if (block >= 1 && block <= 3) {
      EXPECT_TRUE(torch::equal(value, before.at(name))) << name;
    }
  }
  EXPECT_FALSE(torch::equal(after.at("features.17.weight"), before.at("features.17.weight")));
  EXPECT_FALSE(torch::equal(after.at("head.0.weight"), before.at("head.0.weight")));
  EXPECT_NE(n.text.find("frozen: backbone blocks 1-3 of 5"), std::string::npos) << n.text;
  // The backbone group's learning rate is 0.1 x the head's (Adam's first step moves each weight by
  // about lr, so the largest change shows the rate).
  const double backbone_step =
      (after.at("features.17.weight") - before.at("features.17.weight")).abs().max().item<double>();
  const double head_step =
      (after.at("head.0.weight") - before.at("head.0.weight")).abs().max().item<double>();
  EXPECT_LT(backbone_step, 0.25 * head_step);
}

TEST_F(TransferTest, InitFromAnotherRunCopiesItsWeights) {
  TrainConfig a = vgg(1);
  const std::string run_a = mednet::testing::temp_dir("run-a");
  {
    Trainer t(a, *data_, run_a, c10::Device(c10::kCPU));
    Notes n;
    t.run(n);
  }
  models::Classifier best = models::make_model(a.model, mednet::data::input_shape(*data_->info, 28));
  load_module(*best, RunFiles(run_a).best(), torch::kCPU);

  TrainConfig b = vgg(1);
  b.seed = 77;
  b.transfer.init_from = run_a;
  Trainer t(b, *data_, mednet::testing::temp_dir("run-b"), c10::Device(c10::kCPU));
  for (const auto& p : best->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), t.model().named_parameters()[p.key()])) << p.key();
  Notes n;
  EXPECT_EQ(t.run(n).backbone, "init-from: " + run_a);

  TrainConfig bad = vgg(1);
  bad.transfer.init_from = dir_;  // not a run
  EXPECT_THROW(Trainer(bad, *data_, mednet::testing::temp_dir("run-c"), c10::Device(c10::kCPU)), Error);
}

TEST_F(TransferTest, ConfigReadsFreezeAndRefusesBadValues) {
  const TrainConfig c = config_from_json(nlohmann::json::parse(
      R"({"dataset": "retinamnist", "model": {"name": "vgg16"}, "transfer": {"weights": "imagenet", "freeze": "all"}})"));
  EXPECT_EQ(c.transfer.freeze, -1);
  EXPECT_TRUE(c.model.imagenet_norm);  // pretrained weights bring their normalisation
  EXPECT_EQ(config_from_json(nlohmann::json::parse(R"({"transfer": {"freeze": 2}})")).transfer.freeze, 2);
  EXPECT_THROW(config_from_json(nlohmann::json::parse(R"({"transfer": {"freeze": "most"}})")), Error);
  EXPECT_THROW(config_from_json(nlohmann::json::parse(R"({"transfer": {"frozen": 1}})")), Error);
  TrainConfig both = vgg(1);
  both.transfer.weights = "imagenet";
  both.transfer.init_from = "somewhere";
  EXPECT_THROW(both.validate(), Error);
  TrainConfig too_many = vgg(1);
  too_many.transfer.freeze = 6;
  EXPECT_THROW(Trainer(too_many, *data_, mednet::testing::temp_dir("run-d"), c10::Device(c10::kCPU)), Error);
}

}  // namespace
