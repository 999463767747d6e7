// config.json: the TrainConfig written and read back, and bad files refused with the key named.
#include <cstdio>
#include <fstream>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/run/config.h"
#include "support/errors.h"

using namespace mednet::run;

TEST(Config, RoundTripsThroughJson) {
  TrainConfig c;
  c.dataset = "nodulemnist3d";
  c.model.widths = {8, 16};
  c.seed = 42;
  c.schedule = "cosine";
  c.precision = "bf16";
  const TrainConfig back = config_from_json(to_json(c));
  EXPECT_EQ(to_json(back), to_json(c));
  EXPECT_EQ(back.precision, "bf16");
  EXPECT_EQ(config_from_json(nlohmann::json::object()).precision, "fp32");  // older config.json files
}

TEST(Config, UnknownKeysAndBadValuesAreUsageErrors) {
  try {
    config_from_json(nlohmann::json{{"epochz", 3}});
    FAIL();
  } catch (const mednet::Error& e) {
    EXPECT_EQ(e.kind(), mednet::ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("unknown key 'epochz'"), std::string::npos);
  }
  EXPECT_THROW(config_from_json(nlohmann::json{{"epochs", "ten"}}), mednet::Error);
  EXPECT_THROW(config_from_json(nlohmann::json{{"model", {{"width", 3}}}}), mednet::Error);
  TrainConfig c;
  c.epochs = 0;
  EXPECT_THROW(c.validate(), mednet::Error);
  c = TrainConfig();
  c.dataset = "nodulemnist3d";
  c.size = 128;
  EXPECT_THROW(c.validate(), mednet::Error);
  EXPECT_THROW(load_config("/nonexistent.json"), mednet::Error);
  c = TrainConfig();
  c.precision = "fp8";
  try {
    c.validate();
    FAIL();
  } catch (const mednet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("precision must be fp32, bf16 or fp16, got 'fp8'"),
              std::string::npos);
  }
}

namespace {
std::string config_error(const nlohmann::json& j) {
  try {
    config_from_json(j);
  } catch (const mednet::Error& e) {
    EXPECT_EQ(e.kind(), mednet::ErrorKind::Usage);
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Config, NumbersMustBeWholeAndInRange) {
  // (config text, a part of the error it must give)
  const std::vector<std::pair<const char*, const char*>> cases = {
      {R"({"epochs": 4294967297})", "config key 'epochs' is out of range"},
      {R"({"epochs": 1.5})", "'epochs' must be a whole number, got 1.5"},
      {R"({"epochs": 100001})", "epochs must be from 1 to 100000, got 100001"},
      {R"({"seed": 1e30})", "config key 'seed' is out of range"},
      {R"({"seed": 9223372036854775808})", "seed must be from 0 to"},
      {R"({"threads": -5})", "threads must be from 0 to 1024, got -5"},
      {R"({"threads": 100000})", "threads must be from 0 to 1024"},
      {R"({"eval_batch_size": 0})", "eval_batch_size must be from 1 to 65536"},
      {R"({"batch_size": 65537})", "batch_size must be from 1 to 65536"},
      {R"({"model": {"widths": [8, 1e9]}})", "model.widths must be from 1 to"}};
  for (const auto& [text, part] : cases)
    EXPECT_NE(config_error(nlohmann::json::parse(text)).find(part), std::string::npos) << text;
  EXPECT_EQ(config_error(
                nlohmann::json::parse(R"({"epochs": 100000, "seed": 9223372036854775807, "threads": 1024})")),
            "");
}

TEST(Config, LoadConfigNamesTheFileAndRefusesRepeatedKeys) {
  const std::string path = "/tmp/mednet_config_test_repeated.json";
  std::ofstream(path) << R"({"epochs": 1, "epochs": 2})";
  try {
    load_config(path);
    FAIL();
  } catch (const mednet::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": key 'epochs' appears twice"), std::string::npos)
        << e.what();
  }
  std::ofstream(path) << R"({"epochs": 0})";
  try {
    load_config(path);
    FAIL();
  } catch (const mednet::Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": epochs must be from 1 to 100000, got 0"),
              std::string::npos)
        << e.what();
  }
  std::remove(path.c_str());
}

TEST(Config, RecipeOptionsRoundTripAndAreOffByDefault) {
  const TrainConfig plain = config_from_json(nlohmann::json::object());
  EXPECT_EQ(plain.warmup_epochs, 0);
  EXPECT_EQ(plain.label_smoothing, 0.0);
  EXPECT_EQ(plain.optimizer, "adam");
  const TrainConfig c = config_from_json(nlohmann::json{
      {"optimizer", "adamw"}, {"weight_decay", 0.05}, {"warmup_epochs", 5}, {"label_smoothing", 0.1}});
  const TrainConfig back = config_from_json(to_json(c));
  EXPECT_EQ(back.optimizer, "adamw");
  EXPECT_EQ(back.warmup_epochs, 5);
  EXPECT_DOUBLE_EQ(back.label_smoothing, 0.1);
  EXPECT_DOUBLE_EQ(back.weight_decay, 0.05);
  EXPECT_NE(config_error({{"label_smoothing", 1.0}}).find("label_smoothing must be from 0 to below 1, got 1"),
            std::string::npos);
  EXPECT_NE(config_error({{"epochs", 10}, {"warmup_epochs", 10}})
                .find("warmup_epochs must be fewer than epochs (10), got 10"),
            std::string::npos);
  EXPECT_NE(config_error({{"optimizer", "lamb"}}).find("optimizer must be adam, adamw or sgd, got 'lamb'"),
            std::string::npos);
}

TEST(Config, AveragingMixingSelectionAndTtaRoundTripAndAreOffByDefault) {
  const TrainConfig plain = config_from_json(nlohmann::json::object());
  EXPECT_EQ(plain.ema, 0.0);
  EXPECT_EQ(plain.mixup, 0.0);
  EXPECT_EQ(plain.cutmix, 0.0);
  EXPECT_EQ(plain.select, "auc");
  EXPECT_EQ(plain.tta, "none");
  const TrainConfig c = config_from_json(
      nlohmann::json{{"ema", 0.999}, {"mixup", 0.2}, {"cutmix", 1.0}, {"select", "loss"}, {"tta", "flips"}});
  const TrainConfig back = config_from_json(to_json(c));
  EXPECT_DOUBLE_EQ(back.ema, 0.999);
  EXPECT_DOUBLE_EQ(back.mixup, 0.2);
  EXPECT_DOUBLE_EQ(back.cutmix, 1.0);
  EXPECT_EQ(back.select, "loss");
  EXPECT_EQ(back.tta, "flips");
  EXPECT_NE(config_error({{"ema", 1.0}}).find("ema must be from 0 (off) to below 1, got 1"),
            std::string::npos);
  EXPECT_NE(config_error({{"mixup", -1}}).find("mixup must be from 0 (off) to 100, got -1"),
            std::string::npos);
  EXPECT_NE(config_error({{"select", "f1"}}).find("select must be auc, loss or acc, got 'f1'"),
            std::string::npos);
  EXPECT_NE(config_error({{"tta", "rot90"}}).find("tta must be none or flips, got 'rot90'"),
            std::string::npos);
  // test-time flips need flips in training: found when the config meets its data
  TrainConfig no_flip = c;
  no_flip.dataset = "retinamnist";
  EXPECT_NE(mednet::testing::error_of([&] { no_flip.validate(); }).find("has no flip"), std::string::npos);
  no_flip.augment = {mednet::augment::TransformSpec{"flip", 0.5, 0, {1}}};
  EXPECT_EQ(mednet::testing::error_of([&] { no_flip.validate(); }), "");
}

TEST(Config, OrdinalBalanceAndDistillationRoundTripAndAreOffByDefault) {
  const TrainConfig plain = config_from_json(nlohmann::json::object());
  EXPECT_EQ(plain.soft_ordinal, 0.0);
  EXPECT_EQ(plain.balance, "none");
  EXPECT_EQ(plain.model.head, "softmax");
  EXPECT_FALSE(plain.distill.active());
  const TrainConfig c = config_from_json(nlohmann::json::parse(R"({
      "dataset": "retinamnist", "soft_ordinal": 2, "balance": "sampler", "model": {"head": "corn"},
      "distill": {"teacher": ["/runs/a", "/runs/b"], "alpha": 0.7, "temperature": 2}})"));
  c.validate();
  const TrainConfig back = config_from_json(to_json(c));
  EXPECT_EQ(to_json(back), to_json(c));
  EXPECT_DOUBLE_EQ(back.soft_ordinal, 2.0);
  EXPECT_EQ(back.balance, "sampler");
  EXPECT_EQ(back.model.head, "corn");
  EXPECT_EQ(back.distill.teachers, (std::vector<std::string>{"/runs/a", "/runs/b"}));
  EXPECT_DOUBLE_EQ(back.distill.alpha, 0.7);
  EXPECT_DOUBLE_EQ(back.distill.temperature, 2.0);
  EXPECT_NE(config_error({{"balance", "oversample"}}).find("balance must be none, weights or sampler"),
            std::string::npos);
  EXPECT_NE(config_error({{"soft_ordinal", 1}, {"label_smoothing", 0.1}}).find("set one of them"),
            std::string::npos);
  EXPECT_NE(config_error({{"distill", {{"teacher", {"/r"}}, {"alpha", 0}}}}).find("distill.alpha"),
            std::string::npos);
  EXPECT_NE(config_error({{"distill", {{"teachers", {"/r"}}}}}).find("teachers"), std::string::npos);
  EXPECT_NE(config_error({{"model", {{"head", "coral"}}}}).find("model.head must be softmax or corn"),
            std::string::npos);
  // Ordinal options on a task that is not ordinal, and balance on a multi-label one.
  for (const auto& [j, needle] : std::vector<std::pair<nlohmann::json, std::string>>{
           {{{"dataset", "breastmnist"}, {"soft_ordinal", 1}}, "soft_ordinal needs an ordinal task"},
           {{{"dataset", "breastmnist"}, {"model", {{"head", "corn"}}}},
            "model.head corn needs an ordinal task"},
           {{{"dataset", "chestmnist"}, {"balance", "weights"}}, "chestmnist is multi-label"}}) {
    try {
      config_from_json(j).validate();
      ADD_FAILURE() << "accepted " << j.dump();
    } catch (const mednet::Error& e) {
      EXPECT_EQ(e.kind(), mednet::ErrorKind::Usage);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
}
