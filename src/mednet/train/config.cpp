#include "mednet/train/config.h"

#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/data/catalog.h"

namespace mednet::train {

using nlohmann::json;

void TrainConfig::validate() const {
  const auto& info = data::find_dataset(dataset);
  info.file(size);
  MN_CHECK_USAGE(epochs >= 1, "epochs must be >= 1, got ", epochs);
  MN_CHECK_USAGE(batch_size >= 1, "batch_size must be >= 1, got ", batch_size);
  MN_CHECK_USAGE(eval_batch_size >= 1, "eval_batch_size must be >= 1, got ", eval_batch_size);
  MN_CHECK_USAGE(optimizer == "adam" || optimizer == "sgd", "optimizer must be adam or sgd, got '", optimizer,
                 "'");
  MN_CHECK_USAGE(schedule == "step" || schedule == "cosine" || schedule == "constant",
                 "schedule must be step, cosine or constant, got '", schedule, "'");
  MN_CHECK_USAGE(lr > 0, "lr must be > 0, got ", lr);
  MN_CHECK_USAGE(weight_decay >= 0, "weight_decay must be >= 0, got ", weight_decay);
  MN_CHECK_USAGE(patience >= 0, "patience must be >= 0, got ", patience);
  MN_CHECK_USAGE(grad_norm_epochs >= 0, "grad_norm_epochs must be >= 0, got ", grad_norm_epochs);
  models::validate(model);
  augment::validate(augment, info.spatial_dims());
}

json to_json(const TrainConfig& c) {
  json augment_json = json::array();
  for (const auto& t : c.augment) augment_json.push_back(augment::to_json(t));
  return json{{"name", c.name},
              {"dataset", c.dataset},
              {"size", c.size},
              {"root", c.root},
              {"model",
               {{"name", c.model.name},
                {"widths", c.model.widths},
                {"convs_per_stage", c.model.convs_per_stage},
                {"hidden", c.model.hidden},
                {"dropout", c.model.dropout},
                {"global_pool", c.model.global_pool},
                {"stem", c.model.stem}}},
              {"epochs", c.epochs},
              {"batch_size", c.batch_size},
              {"eval_batch_size", c.eval_batch_size},
              {"optimizer", c.optimizer},
              {"lr", c.lr},
              {"weight_decay", c.weight_decay},
              {"momentum", c.momentum},
              {"schedule", c.schedule},
              {"patience", c.patience},
              {"seed", c.seed},
              {"threads", c.threads},
              {"device", c.device},
              {"augment", augment_json},
              {"grad_norm_epochs", c.grad_norm_epochs}};
}

namespace {
template <typename T>
void take(const json& j, const char* key, T& field) {
  core::take(j, key, field, "config key");
}

void reject_unknown(const json& j, const std::set<std::string>& known, const std::string& where) {
  for (const auto& item : j.items()) {
    if (!known.count(item.key())) {
      MN_CHECK_USAGE(false, "unknown key '", item.key(), "' in ", where, " (valid: ", core::join(known, ", "),
                     ")");
    }
  }
}
}  // namespace

TrainConfig config_from_json(const json& j, const TrainConfig& defaults) {
  MN_CHECK_USAGE(j.is_object(), "a config must be a JSON object");
  MN_CHECK_USAGE(!j.contains("arms"),
                 "this is an experiment file with several arms; run it with mednet experiment --config FILE "
                 "--out DIR");
  reject_unknown(j, {"name",     "description",     "dataset",         "size",      "root",    "model",
                     "epochs",   "batch_size",      "eval_batch_size", "optimizer", "lr",      "weight_decay",
                     "momentum", "schedule",        "patience",        "seed",      "threads", "device",
                     "augment",  "grad_norm_epochs"},
                 "config");
  TrainConfig c = defaults;
  take(j, "name", c.name);
  take(j, "dataset", c.dataset);
  take(j, "size", c.size);
  take(j, "root", c.root);
  take(j, "epochs", c.epochs);
  take(j, "batch_size", c.batch_size);
  take(j, "eval_batch_size", c.eval_batch_size);
  take(j, "optimizer", c.optimizer);
  take(j, "lr", c.lr);
  take(j, "weight_decay", c.weight_decay);
  take(j, "momentum", c.momentum);
  take(j, "schedule", c.schedule);
  take(j, "patience", c.patience);
  take(j, "seed", c.seed);
  take(j, "threads", c.threads);
  take(j, "device", c.device);
  take(j, "grad_norm_epochs", c.grad_norm_epochs);
  if (j.contains("augment")) {
    const json& a = j.at("augment");
    MN_CHECK_USAGE(a.is_array(), "config key 'augment' must be a list of transforms");
    c.augment.clear();
    for (const auto& t : a) c.augment.push_back(augment::transform_from_json(t));
  }
  if (j.contains("model")) {
    const json& m = j.at("model");
    MN_CHECK_USAGE(m.is_object(), "config key 'model' must be an object");
    reject_unknown(m, {"name", "widths", "convs_per_stage", "hidden", "dropout", "global_pool", "stem"},
                   "model");
    take(m, "name", c.model.name);
    take(m, "widths", c.model.widths);
    take(m, "convs_per_stage", c.model.convs_per_stage);
    take(m, "hidden", c.model.hidden);
    take(m, "dropout", c.model.dropout);
    take(m, "global_pool", c.model.global_pool);
    take(m, "stem", c.model.stem);
  }
  return c;
}

TrainConfig load_config(const std::string& path) {
  std::ifstream in(path);
  MN_CHECK_USAGE(in, "cannot open config ", path, ": no such file or not readable");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::parse_error& e) {
    MN_CHECK_USAGE(false, path, " is not valid JSON: ", e.what());
  }
  return config_from_json(j);
}

}  // namespace mednet::train
