#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/runtime.h"
#include "mednet/data/dataset.h"
#include "mednet/models/safetensors.h"
#include "mednet/run/metrics_file.h"
#include "mednet/run/state.h"
#include "mednet/train/trainer.h"
#include "support/fixtures.h"

using namespace mednet;
using namespace mednet::train;
using namespace mednet::run;
using namespace mednet::engine;
namespace fs = std::filesystem;

namespace {

// A small learnable NoduleMNIST3D-format file and a tiny CNN keep each run to a second or two.
class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = mednet::testing::temp_dir("trainer");
    mednet::testing::write_fake_medmnist(dir_ + "/nodulemnist3d.npz", "nodulemnist3d", 96, 32, 32);
    data_ = new data::MedMnist(
        data::load_medmnist(data::find_dataset("nodulemnist3d"), 28, dir_ + "/nodulemnist3d.npz"));
    core::set_threads(2);
  }
  static void TearDownTestSuite() { delete data_; }

  static TrainConfig tiny(int epochs) {
    TrainConfig c;
    c.dataset = "nodulemnist3d";
    c.model.widths = {4, 8};
    c.model.hidden = {16};
    c.epochs = epochs;
    c.batch_size = 16;
    c.schedule = "constant";
    c.patience = 0;
    c.seed = 3;
    c.device = "cpu";
    return c;
  }

  // A tiny run with checkpoints chosen by `select`, into a fresh folder named after it.
  static std::pair<TrainResult, std::string> run_selecting(const std::string& select, int epochs) {
    TrainConfig c = tiny(epochs);
    c.select = select;
    c.lr = 0.01;
    const std::string out = mednet::testing::temp_dir("select_" + select);
    Trainer t(c, *data_, out, c10::Device(c10::kCPU));
    TrainObserver quiet;
    return {t.run(quiet), out};
  }

  static inline std::string dir_;
  static inline data::MedMnist* data_ = nullptr;
};

struct Quiet : TrainObserver {};

// Raises the interrupt flag at a given step of a given epoch, as Ctrl-C would.
struct InterruptAt : TrainObserver {
  int epoch_now = 0, at_epoch;
  explicit InterruptAt(int e) : at_epoch(e) {}
  void on_epoch_begin(int epoch, int, int64_t) override { epoch_now = epoch; }
  void on_step(int64_t step, double) override {
    if (epoch_now == at_epoch && step == 2) core::request_interrupt();
  }
};

// Trains config in a new folder, interrupts it in epoch 3, resumes it, and checks that the third epoch
// matches ref's, the same config's uninterrupted run.
void expect_resume_matches(const TrainConfig& config, const data::MedMnist& data, const TrainResult& ref,
                           const std::string& tag) {
  const std::string out = mednet::testing::temp_dir(tag);
  {
    InterruptAt stopper(3);
    Trainer t(config, data, out, c10::Device(c10::kCPU));
    EXPECT_EQ(t.run(stopper).epochs_run, 2);
  }
  core::clear_interrupt();
  Trainer again(config, data, out, c10::Device(c10::kCPU));
  again.resume();
  Quiet q;
  const TrainResult rest = again.run(q);
  ASSERT_EQ(rest.history.size(), 3u);
  EXPECT_NEAR(rest.history[2].train_loss, ref.history[2].train_loss, 1e-9);
  EXPECT_NEAR(rest.history[2].val_auc, ref.history[2].val_auc, 1e-9);
  EXPECT_NEAR(rest.history[2].val_loss, ref.history[2].val_loss, 1e-9);
}

TEST_F(TrainerTest, TrainsAndWritesEveryOutput) {
  const std::string out = mednet::testing::temp_dir("run");
  Trainer t(tiny(3), *data_, out, c10::Device(c10::kCPU));
  Quiet q;
  const TrainResult r = t.run(q);
  EXPECT_EQ(r.reason, StopReason::Completed);
  ASSERT_EQ(r.history.size(), 3u);
  EXPECT_GE(r.best_epoch, 1);
  EXPECT_LE(r.best_epoch, 3);
  // the restored checkpoint is the best epoch's: its validation AUC is the one recorded then
  EXPECT_NEAR(r.val.scores.auc, r.history[r.best_epoch - 1].val_auc, 1e-9);
  EXPECT_GT(r.val.scores.auc, 0.8);  // the generated labels are learnable
  EXPECT_TRUE(std::isfinite(r.test.scores.auc));
  EXPECT_EQ(r.test.probs.sizes(), (std::vector<int64_t>{32, 2}));
  for (const char* f :
       {"config.json", "history.csv", "best.pt", "last.pt", "last_optimizer.pt", "state.json"}) {
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  }
  const std::string csv = mednet::testing::read_file(out + "/history.csv");
  EXPECT_EQ(csv.rfind("epoch,lr,train_loss,train_auc,train_acc,val_loss,val_auc,val_acc,seconds\n", 0), 0u);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4);
  // The Trainer writes metrics.json itself: a library user gets the same finished folder as the CLI.
  EXPECT_TRUE(run_finished(out));
  const RunMetrics m = metrics_from_json(read_metrics_json(out + "/metrics.json"));
  EXPECT_EQ(m.best_epoch, r.best_epoch);
  EXPECT_EQ(m.epochs_run, 3);
  EXPECT_EQ(m.stop_reason, "completed");
  ASSERT_TRUE(m.test.has_value());
  EXPECT_NEAR(m.test->auc, r.test.scores.auc, 1e-12);
  EXPECT_EQ(m.trainable_params, r.trainable_params);
  EXPECT_EQ(m.dataset, "nodulemnist3d");
}

TEST_F(TrainerTest, SameSeedSameNumbers) {
  Quiet q;
  Trainer a(tiny(2), *data_, mednet::testing::temp_dir("a"), c10::Device(c10::kCPU));
  Trainer b(tiny(2), *data_, mednet::testing::temp_dir("b"), c10::Device(c10::kCPU));
  const TrainResult ra = a.run(q), rb = b.run(q);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(ra.history[i].train_loss, rb.history[i].train_loss);
    EXPECT_EQ(ra.history[i].val_auc, rb.history[i].val_auc);
  }
  TrainConfig other = tiny(2);
  other.seed = 4;
  Trainer c(other, *data_, mednet::testing::temp_dir("c"), c10::Device(c10::kCPU));
  EXPECT_NE(c.run(q).history[0].train_loss, ra.history[0].train_loss);
}

TEST_F(TrainerTest, InterruptKeepsLastCheckpointAndResumeMatchesUninterrupted) {
  Quiet q;
  Trainer whole(tiny(4), *data_, mednet::testing::temp_dir("whole"), c10::Device(c10::kCPU));
  const TrainResult ref = whole.run(q);

  const std::string out = mednet::testing::temp_dir("resume");
  InterruptAt stopper(3);
  TrainResult first;
  {
    Trainer t(tiny(4), *data_, out, c10::Device(c10::kCPU));
    first = t.run(stopper);
  }
  core::clear_interrupt();
  EXPECT_EQ(first.reason, StopReason::Interrupted);
  EXPECT_EQ(first.epochs_run, 2);  // the unfinished third epoch is discarded
  EXPECT_TRUE(fs::exists(out + "/last.pt"));
  // metrics.json says the run was interrupted, so it does not count as finished.
  EXPECT_EQ(read_metrics_json(out + "/metrics.json").at("stop_reason"), "interrupted");
  EXPECT_FALSE(run_finished(out));

  Trainer again(tiny(4), *data_, out, c10::Device(c10::kCPU));
  again.resume();
  const TrainResult rest = again.run(q);
  ASSERT_EQ(rest.history.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(rest.history[i].train_loss, ref.history[i].train_loss, 1e-9) << "epoch " << i + 1;
    EXPECT_NEAR(rest.history[i].val_auc, ref.history[i].val_auc, 1e-9) << "epoch " << i + 1;
  }
  EXPECT_EQ(rest.best_epoch, ref.best_epoch);
  EXPECT_TRUE(run_finished(out));
}

TEST_F(TrainerTest, NanLossStopsAndKeepsTheBestCheckpoint) {
  TrainConfig c = tiny(6);
  c.optimizer = "sgd";
  c.momentum = 0;
  c.lr = 1e25;  // diverges within a few steps
  const std::string out = mednet::testing::temp_dir("nan");
  Trainer t(c, *data_, out, c10::Device(c10::kCPU));
  Quiet q;
  const TrainResult r = t.run(q);
  EXPECT_EQ(r.reason, StopReason::NanLoss);
  EXPECT_LT(r.epochs_run, 6);
  if (r.best_epoch > 0) EXPECT_TRUE(fs::exists(out + "/best.pt"));
}

TEST_F(TrainerTest, NanLossAfterGoodEpochsKeepsTheLastGoodCheckpoint) {
  TrainConfig c = tiny(2);
  c.lr = 0.01;
  const std::string out = mednet::testing::temp_dir("nan_late");
  TrainResult good;
  {
    Trainer t(c, *data_, out, c10::Device(c10::kCPU));
    Quiet q;
    good = t.run(q);
  }
  ASSERT_EQ(good.reason, StopReason::Completed);
  const core::FileDigest best = core::digest_file(out + "/best.pt");
  const core::FileDigest last = core::digest_file(out + "/last.pt");
  // Two more epochs, from weights that turn every loss into NaN (as a diverging step would).
  c.epochs = 4;
  Trainer t(c, *data_, out, c10::Device(c10::kCPU));
  t.resume();
  {
    torch::NoGradGuard no_grad;
    t.model().parameters()[0].fill_(NAN);
  }
  Quiet q;
  const TrainResult r = t.run(q);
  EXPECT_EQ(r.reason, StopReason::NanLoss);
  EXPECT_EQ(r.epochs_run, 2);
  EXPECT_EQ(read_state(RunFiles(out)).epochs_done(), 2);
  EXPECT_EQ(core::digest_file(out + "/best.pt"), best);  // the same bytes: nothing of the NaN model saved
  EXPECT_EQ(core::digest_file(out + "/last.pt"), last);
  EXPECT_EQ(r.best_epoch, good.best_epoch);
  EXPECT_EQ(r.test.scores.auc, good.test.scores.auc);  // scored from the kept checkpoint
  const auto m = nlohmann::json::parse(mednet::testing::read_file(out + "/metrics.json"));
  EXPECT_EQ(m["test"]["auc"].get<double>(), good.test.scores.auc);
}

TEST_F(TrainerTest, AugmentationIsReproducibleAndChangesTraining) {
  Quiet q;
  TrainConfig aug = tiny(2);
  for (const char* t : {R"({"type": "flip", "axes": [0, 1, 2], "p": 0.5})",
                        R"({"type": "rotate", "degrees": 20})", R"({"type": "noise", "std": 0.05})"}) {
    aug.augment.push_back(augment::transform_from_json(nlohmann::json::parse(t)));
  }
  Trainer a(aug, *data_, mednet::testing::temp_dir("aug_a"), c10::Device(c10::kCPU));
  Trainer b(aug, *data_, mednet::testing::temp_dir("aug_b"), c10::Device(c10::kCPU));
  Trainer plain(tiny(2), *data_, mednet::testing::temp_dir("aug_none"), c10::Device(c10::kCPU));
  const TrainResult ra = a.run(q), rb = b.run(q), rp = plain.run(q);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(ra.history[i].train_loss, rb.history[i].train_loss);
    EXPECT_EQ(ra.history[i].val_auc, rb.history[i].val_auc);
  }
  EXPECT_NE(ra.history[0].train_loss, rp.history[0].train_loss);
  // validation and test never see augmentation: the restored best model scores the same when re-evaluated
  const Evaluation again =
      evaluate_model(a.model(), data_->val, data_->info->task, c10::Device(c10::kCPU), 256);
  EXPECT_NEAR(again.scores.auc, ra.val.scores.auc, 1e-12);
}

TEST_F(TrainerTest, GradientNormsPerLayerForTheFirstEpochs) {
  TrainConfig c = tiny(3);
  c.grad_norm_epochs = 2;
  const std::string out = mednet::testing::temp_dir("gradnorm");
  Trainer t(c, *data_, out, c10::Device(c10::kCPU));
  Quiet q;
  t.run(q);
  const std::string csv = mednet::testing::read_file(out + "/grad_norms.csv");
  ASSERT_EQ(csv.rfind("epoch,depth,layer,grad_norm\n", 0), 0u) << csv;
  // 2 convolutions + 2 dense layers; rows for the first step (epoch 0), epochs 1 and 2, none for 3
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 3 * 4) << csv;
  EXPECT_NE(csv.find("0,1,features.0.weight,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("2,4,head.4.weight,"), std::string::npos) << csv;
  EXPECT_EQ(csv.find("\n3,"), std::string::npos) << csv;
  EXPECT_EQ(csv.find("nan"), std::string::npos) << csv;
}

TEST_F(TrainerTest, AnEmptyValidationSplitIsAnErrorBeforeTraining) {
  const std::string dir = mednet::testing::temp_dir("trainer_no_val");
  mednet::testing::write_fake_medmnist(dir + "/nodulemnist3d.npz", "nodulemnist3d", 32, 0, 8);
  const data::MedMnist d =
      data::load_medmnist(data::find_dataset("nodulemnist3d"), 28, dir + "/nodulemnist3d.npz");
  const std::string out = dir + "/run";
  Trainer t(tiny(1), d, out, c10::Device(c10::kCPU));
  Quiet q;
  try {
    t.run(q);
    FAIL() << "trained without a validation split";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the validation split is empty"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out + "/best.pt"));
}

TEST_F(TrainerTest, RecipeOptionsChangeTrainingAndResumeExactly) {
  Quiet q;
  TrainConfig recipe = tiny(3);
  recipe.optimizer = "adamw";
  recipe.weight_decay = 0.05;
  recipe.label_smoothing = 0.1;
  recipe.schedule = "cosine";
  recipe.warmup_epochs = 2;
  Trainer whole(recipe, *data_, mednet::testing::temp_dir("recipe"), c10::Device(c10::kCPU));
  const TrainResult ref = whole.run(q);
  ASSERT_EQ(ref.history.size(), 3u);
  EXPECT_DOUBLE_EQ(ref.history[0].lr, recipe.lr / 2);  // warm-up
  EXPECT_DOUBLE_EQ(ref.history[1].lr, recipe.lr);
  EXPECT_DOUBLE_EQ(ref.history[2].lr, recipe.lr);  // the cosine's first epoch

  Trainer plain(tiny(3), *data_, mednet::testing::temp_dir("recipe_plain"), c10::Device(c10::kCPU));
  EXPECT_NE(plain.run(q).history[0].train_loss, ref.history[0].train_loss);

  // Stopped after its second epoch and resumed: AdamW's run goes on as if never stopped.
  expect_resume_matches(recipe, *data_, ref, "recipe_resume");
}

at::Tensor first_tensor_of(const std::string& path) {
  return models::read_safetensors_file(path).tensors.front().second;  // the same writer, the same order
}

TEST_F(TrainerTest, WeightAverageAndMixingAreScoredCheckpointedAndResumedExactly) {
  Quiet q;
  TrainConfig recipe = tiny(3);
  recipe.ema = 0.9;
  recipe.mixup = 0.4;
  recipe.cutmix = 1.0;
  const std::string whole_dir = mednet::testing::temp_dir("ema");
  Trainer whole(recipe, *data_, whole_dir, c10::Device(c10::kCPU));
  const TrainResult ref = whole.run(q);
  ASSERT_EQ(ref.history.size(), 3u);
  const RunFiles files(whole_dir);
  ASSERT_TRUE(fs::exists(files.last_ema()));
  // last.pt holds the trained weights, last_ema.pt their average: not the same numbers
  EXPECT_FALSE(torch::equal(first_tensor_of(files.last()), first_tensor_of(files.last_ema())));
  if (ref.best_epoch == 3)
    EXPECT_TRUE(torch::equal(first_tensor_of(files.best()), first_tensor_of(files.last_ema())));
  // validation scored the average, and the restored best checkpoint scores the same
  EXPECT_NEAR(ref.val.scores.auc, ref.history[ref.best_epoch - 1].val_auc, 1e-9);
  // state.json counts the average's updates: one per step here (fp32 skips none)
  const int64_t steps =
      (static_cast<int64_t>(data_->train.size()) + recipe.batch_size - 1) / recipe.batch_size;
  EXPECT_EQ(read_state(files).ema_updates, 3 * steps);

  const std::string plain_dir = mednet::testing::temp_dir("ema_plain");
  Trainer plain(tiny(3), *data_, plain_dir, c10::Device(c10::kCPU));
  const TrainResult p = plain.run(q);
  EXPECT_NE(p.history[0].train_loss, ref.history[0].train_loss);  // mixing changed the training loss
  EXPECT_NE(p.history[0].val_loss, ref.history[0].val_loss);      // and validation scored the average
  EXPECT_EQ(read_state(RunFiles(plain_dir)).ema_updates, -1);

  // the average and the mixing draws go on after a resume as if never stopped
  expect_resume_matches(recipe, *data_, ref, "ema_resume");
}

TEST_F(TrainerTest, SelectionByValidationLossKeepsTheLowestLoss) {
  const auto [r, out] = run_selecting("loss", 5);
  ASSERT_EQ(r.history.size(), 5u);
  size_t lowest = 0;
  for (size_t i = 1; i < r.history.size(); ++i)
    if (r.history[i].val_loss < r.history[lowest].val_loss) lowest = i;
  EXPECT_EQ(r.best_epoch, static_cast<int>(lowest) + 1);
  EXPECT_NEAR(r.val.loss, r.history[lowest].val_loss, 1e-6);
  const RunState s = read_state(RunFiles(out));
  EXPECT_DOUBLE_EQ(s.best_val_loss, r.history[lowest].val_loss);
  EXPECT_DOUBLE_EQ(s.best_val_auc, r.history[lowest].val_auc);
}

TEST_F(TrainerTest, SelectionByValidationAccuracyBreaksTiesByAuc) {
  const auto [r, out] = run_selecting("acc", 6);
  ASSERT_EQ(r.history.size(), 6u);
  size_t best = 0;
  for (size_t i = 1; i < r.history.size(); ++i) {
    const auto& h = r.history[i];
    const auto& b = r.history[best];
    if (h.val_acc > b.val_acc || (h.val_acc == b.val_acc && h.val_auc > b.val_auc)) best = i;
  }
  EXPECT_EQ(r.best_epoch, static_cast<int>(best) + 1);
  EXPECT_NEAR(r.val.scores.acc, r.history[best].val_acc, 1e-9);
  const RunState s = read_state(RunFiles(out));
  EXPECT_DOUBLE_EQ(s.best_val_acc, r.history[best].val_acc);
  const RunMetrics m = metrics_from_json(read_metrics_json(out + "/metrics.json"));
  EXPECT_EQ(m.selection, "checkpoint with the best validation ACC (ties: the better AUC)");
}

TEST(EarlyStopRule, NamesThePatienceAndTheScoreOrSaysThereIsNone) {
  TrainConfig c;
  c.patience = 20;
  EXPECT_EQ(early_stop_rule(c), "early stop after 20 epochs without a better val AUC");
  c.select = "loss";
  EXPECT_EQ(early_stop_rule(c), "early stop after 20 epochs without a better val loss");
  c.select = "acc";
  EXPECT_EQ(early_stop_rule(c), "early stop after 20 epochs without a better val ACC");
  c.patience = 0;
  EXPECT_EQ(early_stop_rule(c), "no early stop");
}

TEST_F(TrainerTest, TestTimeFlipsScoreTheFinalSplits) {
  Quiet q;
  TrainConfig c = tiny(2);
  c.augment = {augment::TransformSpec{"flip", 0.5, 0, {0, 2}}};
  c.tta = "flips";
  Trainer t(c, *data_, mednet::testing::temp_dir("tta"), c10::Device(c10::kCPU));
  const TrainResult r = t.run(q);
  const data::Task task = data_->info->task;
  const FlipSets views = tta_views("flips", c.augment);
  ASSERT_EQ(views.size(), 4u);
  const Evaluation flipped = evaluate_model(t.model(), data_->test, task, c10::kCPU, 256, views);
  const Evaluation plain = evaluate_model(t.model(), data_->test, task, c10::kCPU, 256);
  EXPECT_TRUE(torch::allclose(r.test.probs, flipped.probs, 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(r.test.probs, plain.probs, 1e-5, 1e-6));
  EXPECT_NEAR(r.test.scores.auc, flipped.scores.auc, 1e-9);
}

}  // namespace
