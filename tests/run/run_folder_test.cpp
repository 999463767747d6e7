// The run folder's formats: each writer and its reader as a round trip, and damaged files named.
#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/run/grad_norms.h"
#include "mednet/run/history.h"
#include "mednet/run/journal.h"
#include "mednet/run/metrics_file.h"
#include "mednet/run/split_results.h"
#include "mednet/run/state.h"
#include "support/fixtures.h"

using namespace mednet;
namespace fs = std::filesystem;

namespace {
std::vector<run::EpochRecord> two_epochs() {
  run::EpochRecord a{1, 0.001, 0.69, 0.5, 0.4, 0.7, 0.55, 0.45, 1.5};
  run::EpochRecord b{2, 0.0001, 0.6, std::nan(""), 0.6, 0.65, 0.61, 0.5, 1.25};
  return {a, b};
}
}  // namespace

TEST(RunFolder, HistoryCsvRoundTrip) {
  const auto h = two_epochs();
  const auto back = run::parse_history_csv(run::history_csv(h));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[1].epoch, 2);
  EXPECT_DOUBLE_EQ(back[0].val_auc, 0.55);
  EXPECT_DOUBLE_EQ(back[1].lr, 0.0001);
  EXPECT_TRUE(std::isnan(back[1].train_auc));
  EXPECT_THROW(run::parse_history_csv("epoch,lr\n1,2\n"), Error);
  EXPECT_THROW(run::parse_history_csv(run::history_csv(h) + "3,x,1,1,1,1,1,1,1\n"), Error);
}

TEST(RunFolder, StateRoundTripAndMissingState) {
  const run::RunFiles files(mednet::testing::temp_dir("run_state"));
  EXPECT_THROW(run::read_state(files), Error);
  EXPECT_TRUE(run::read_history(files).empty());
  run::RunState s;
  s.best_epoch = 2;
  s.best_val_auc = 0.61;
  s.bad_epochs = 0;
  s.train_seconds = 2.75;
  s.backbone = "init-from: elsewhere";
  s.history = two_epochs();
  run::commit_epoch(files, s, {});
  const run::RunState back = run::read_state(files);
  EXPECT_EQ(back.epochs_done(), 2);
  EXPECT_EQ(back.best_epoch, 2);
  EXPECT_DOUBLE_EQ(back.best_val_auc, 0.61);
  EXPECT_EQ(back.backbone, "init-from: elsewhere");
  EXPECT_TRUE(std::isnan(back.history[1].train_auc));
  EXPECT_EQ(run::read_history_csv(files.history()).size(), 2u);  // history.csv beside it
  EXPECT_TRUE(std::isinf(back.best_val_loss));                   // none yet: written as null
  EXPECT_EQ(back.ema_updates, -1);                               // no weight average: not written
  EXPECT_EQ(nlohmann::json::parse(run::state_json(s)).count("ema_updates"), 0u);
  // best_val_acc unset: not written, and read back from the best epoch's history row (older runs)
  EXPECT_EQ(nlohmann::json::parse(run::state_json(s)).count("best_val_acc"), 0u);
  EXPECT_DOUBLE_EQ(back.best_val_acc, s.history[1].val_acc);
  s.best_val_acc = 0.375;
  EXPECT_DOUBLE_EQ(run::parse_state(nlohmann::json::parse(run::state_json(s)), "state.json").best_val_acc,
                   0.375);
  s.best_val_acc = -1;

  s.best_val_loss = 0.93;
  s.ema_updates = 61;  // fewer than the steps trained when fp16 skipped some
  run::commit_epoch(files, s, {});
  const run::RunState averaged = run::read_state(files);
  EXPECT_DOUBLE_EQ(averaged.best_val_loss, 0.93);
  EXPECT_EQ(averaged.ema_updates, 61);
  auto j = nlohmann::json::parse(run::state_json(s));
  j["ema_updates"] = 2.5;
  EXPECT_THROW(run::parse_state(j, "state.json"), Error);

  std::ofstream(files.state()) << "{\"epochs_done\": 1";
  EXPECT_THROW(run::read_state(files), Error);
}

TEST(RunFolder, MetricsRoundTripAndFinished) {
  const std::string dir = mednet::testing::temp_dir("run_metrics");
  run::RunMetrics m;
  m.dataset = "retinamnist";
  m.model = "cnn";
  m.seed = 3;
  m.epochs_run = 4;
  m.best_epoch = 2;
  m.params = 1000;
  m.trainable_params = 10;
  m.train_seconds = 8;
  m.stop_reason = run::stop_reason_name(run::StopReason::EarlyStopped);
  m.selection = "checkpoint with the best validation loss";
  m.test = run::SplitMetrics{};
  m.test->auc = 0.75;
  m.test->acc = std::nan("");
  m.test->loss = 1.1;
  m.test->warnings = {"one class"};
  m.val = run::SplitMetrics{};
  m.val->auc = 0.8;
  m.val->acc = 0.6;
  m.val->loss = 1.0;
  m.val->ci = mednet::metrics::ScoreIntervals{{0.7, 0.9}, {0.5, std::nan("")}, 1000, 3};
  m.val->per_class_auc = {0.8, std::nan("")};
  m.val->confusion = {{3, 1}, {0, 4}};
  m.val->roc = {{"class 1", {0, 0.5, 1}, {0, 1, 1}}};
  m.val->result_file = "retinamnist_val_[AUC]0.800_[ACC]0.600@seed3.csv";
  m.val->calibration = mednet::metrics::CalibrationScores{0.05, 0.2, 0.4, 1.1};
  m.val->calibration_ci = {{0.03, 0.08}, {0.1, 0.3}, {0.35, 0.45}, {1.0, 1.2}, 1000};
  run::write_metrics(run::RunFiles(dir).metrics(), m);
  const nlohmann::json j = run::read_metrics_json(run::RunFiles(dir).metrics());
  EXPECT_DOUBLE_EQ(j.at("seconds_per_epoch").get<double>(), 2.0);
  EXPECT_TRUE(j.at("test").at("acc").is_null());
  const run::RunMetrics back = run::metrics_from_json(j);
  EXPECT_EQ(back.stop_reason, "early-stopped");
  EXPECT_EQ(back.trainable_params, 10);
  EXPECT_EQ(back.selection, m.selection);
  ASSERT_TRUE(back.test.has_value());
  EXPECT_DOUBLE_EQ(back.test->auc, 0.75);
  EXPECT_TRUE(std::isnan(back.test->acc));
  EXPECT_EQ(back.test->warnings, std::vector<std::string>{"one class"});
  EXPECT_FALSE(back.test->ci.has_value());
  ASSERT_TRUE(back.val->ci.has_value());
  EXPECT_DOUBLE_EQ(back.val->ci->auc.hi, 0.9);
  EXPECT_TRUE(std::isnan(back.val->ci->acc.hi));
  EXPECT_EQ(back.val->ci->undefined_auc, 3);
  EXPECT_TRUE(std::isnan(back.val->per_class_auc[1]));
  EXPECT_EQ(back.val->confusion, (std::vector<std::vector<int64_t>>{{3, 1}, {0, 4}}));
  EXPECT_EQ(back.val->roc.at(0).tpr, (std::vector<double>{0, 1, 1}));
  EXPECT_EQ(back.val->result_file, m.val->result_file);
  ASSERT_TRUE(back.val->calibration.has_value());
  EXPECT_DOUBLE_EQ(back.val->calibration->ece, 0.05);
  EXPECT_DOUBLE_EQ(back.val->calibration->nll, 1.1);
  EXPECT_DOUBLE_EQ(back.val->calibration_ci.brier.hi, 0.45);
  EXPECT_EQ(back.val->calibration_ci.resamples, 1000);
  EXPECT_EQ(j.at("val").at("calibration").at("bins"), 15);
  EXPECT_FALSE(back.test->calibration.has_value());
  EXPECT_TRUE(run::run_finished(dir));
  m.stop_reason = "interrupted";
  run::write_metrics(run::RunFiles(dir).metrics(), m);
  EXPECT_FALSE(run::run_finished(dir));
  m.stop_reason = "completed";
  m.test.reset();
  run::write_metrics(run::RunFiles(dir).metrics(), m);
  EXPECT_FALSE(run::run_finished(dir));
  EXPECT_FALSE(run::run_finished(mednet::testing::temp_dir("run_empty")));
}

TEST(RunFolder, GradNormsRoundTrip) {
  const std::string path = mednet::testing::temp_dir("run_grad") + "/grad_norms.csv";
  run::append_grad_norms(path, 0, {{"a.weight", "b.weight"}, {0.5, 2.0}});
  run::append_grad_norms(path, 1, {{"a.weight", "b.weight"}, {0.25, 1.5}});
  const run::GradNorms e1 = run::read_grad_norms(path, 1);
  EXPECT_EQ(e1.layers, (std::vector<std::string>{"a.weight", "b.weight"}));
  EXPECT_EQ(e1.norms, (std::vector<double>{0.25, 1.5}));
  EXPECT_EQ(run::read_grad_norms(path, 0).norms, (std::vector<double>{0.5, 2.0}));
  core::write_file_atomic(path, "not,a,grad,file\n");
  EXPECT_THROW(run::read_grad_norms(path, 0), Error);
}

TEST(RunFolder, ResultFilesAreReplacedPerRunNameAndReadBack) {
  const std::string dir = mednet::testing::temp_dir("run_results");
  const at::Tensor labels = torch::tensor({0, 1, 1, 0}, torch::kLong).unsqueeze(1);
  engine::Evaluation e;
  e.probs = torch::tensor({0.8, 0.2, 0.3, 0.7, 0.4, 0.6, 0.6, 0.4}, torch::kDouble).view({4, 2});
  e.scores = metrics::evaluate(data::Task::BinaryClass, labels, e.probs);
  const run::SplitMetrics own =
      run::record_split(dir, {"breastmnist", 28, "test", "seed0"}, data::Task::BinaryClass, labels, e);
  // Calibration of the positive class's probability: 0.2, 0.7, 0.6, 0.4 against 0, 1, 1, 0.
  ASSERT_TRUE(own.calibration.has_value());
  EXPECT_NEAR(own.calibration->brier, (0.04 + 0.09 + 0.16 + 0.16) / 4, 1e-12);
  EXPECT_EQ(own.calibration_ci.resamples, 1000);
  EXPECT_LE(own.calibration_ci.brier.lo, own.calibration->brier);
  engine::Evaluation flipped = e;
  flipped.probs = torch::tensor({0.4, 0.6, 0.3, 0.7, 0.6, 0.4, 0.7, 0.3}, torch::kDouble).view({4, 2});
  flipped.scores = metrics::evaluate(data::Task::BinaryClass, labels, flipped.probs);
  const run::SplitMetrics tta = run::record_split(dir, {"breastmnist", 28, "test", "seed0-tta"},
                                                  data::Task::BinaryClass, labels, flipped);
  ASSERT_NE(own.result_file, tta.result_file);
  EXPECT_TRUE(fs::exists(dir + "/" + own.result_file));  // another name leaves the run's own file
  const nlohmann::json m{{"test", {{"result_file", own.result_file}}}};
  EXPECT_TRUE(torch::allclose(run::read_split_probs(dir, m, "test"), e.probs));
  // the same name again replaces its older file (here with other scores, so another file name)
  const run::SplitMetrics again =
      run::record_split(dir, {"breastmnist", 28, "test", "seed0"}, data::Task::BinaryClass, labels, flipped);
  EXPECT_FALSE(fs::exists(dir + "/" + own.result_file));
  EXPECT_TRUE(fs::exists(dir + "/" + again.result_file));
  EXPECT_TRUE(fs::exists(dir + "/" + tta.result_file));
}
