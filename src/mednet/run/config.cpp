#include "mednet/run/config.h"

#include <cmath>
#include <cstdint>
#include <set>

#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/data/catalog.h"
#include "mednet/engine/tta.h"

namespace mednet::run {

using nlohmann::json;

namespace {
// Inclusive bounds of a whole-number field: a usage error naming it otherwise.
void check_range(const char* name, int64_t v, int64_t lo, int64_t hi) {
  MN_CHECK_USAGE(v >= lo && v <= hi, name, " must be from ", lo, " to ", hi, ", got ", v);
}
}  // namespace

void TrainConfig::validate_values() const {
  check_range("epochs", epochs, 1, 100000);
  check_range("batch_size", batch_size, 1, 65536);
  check_range("eval_batch_size", eval_batch_size, 1, 65536);
  check_range("threads", threads, 0, 1024);
  check_range("patience", patience, 0, 100000);
  check_range("grad_norm_epochs", grad_norm_epochs, 0, 100000);
  check_range("size", size, 1, 1024);
  MN_CHECK_USAGE(seed <= static_cast<uint64_t>(INT64_MAX), "seed must be from 0 to ", INT64_MAX, ", got ",
                 seed);
  MN_CHECK_USAGE(optimizer == "adam" || optimizer == "adamw" || optimizer == "sgd",
                 "optimizer must be adam, adamw or sgd, got '", optimizer, "'");
  check_range("warmup_epochs", warmup_epochs, 0, 100000);
  MN_CHECK_USAGE(warmup_epochs < epochs, "warmup_epochs must be fewer than epochs (", epochs, "), got ",
                 warmup_epochs);
  MN_CHECK_USAGE(std::isfinite(label_smoothing) && label_smoothing >= 0 && label_smoothing < 1,
                 "label_smoothing must be from 0 to below 1, got ", label_smoothing);
  MN_CHECK_USAGE(std::isfinite(ema) && ema >= 0 && ema < 1, "ema must be from 0 (off) to below 1, got ", ema);
  MN_CHECK_USAGE(std::isfinite(mixup) && mixup >= 0 && mixup <= 100,
                 "mixup must be from 0 (off) to 100, got ", mixup);
  MN_CHECK_USAGE(std::isfinite(cutmix) && cutmix >= 0 && cutmix <= 100,
                 "cutmix must be from 0 (off) to 100, got ", cutmix);
  MN_CHECK_USAGE(select == "auc" || select == "loss" || select == "acc",
                 "select must be auc, loss or acc, got '", select, "'");
  MN_CHECK_USAGE(tta == "none" || tta == "flips", "tta must be none or flips, got '", tta, "'");
  MN_CHECK_USAGE(precision == "fp32" || precision == "bf16" || precision == "fp16",
                 "precision must be fp32, bf16 or fp16, got '", precision, "'");
  MN_CHECK_USAGE(schedule == "step" || schedule == "cosine" || schedule == "constant",
                 "schedule must be step, cosine or constant, got '", schedule, "'");
  MN_CHECK_USAGE(std::isfinite(lr) && lr > 0, "lr must be > 0, got ", lr);
  MN_CHECK_USAGE(std::isfinite(weight_decay) && weight_decay >= 0, "weight_decay must be >= 0, got ",
                 weight_decay);
  MN_CHECK_USAGE(std::isfinite(momentum) && momentum >= 0, "momentum must be >= 0, got ", momentum);
  MN_CHECK_USAGE(std::isfinite(soft_ordinal) && soft_ordinal >= 0 && soft_ordinal <= 100,
                 "soft_ordinal must be from 0 (off) to 100, got ", soft_ordinal);
  MN_CHECK_USAGE(soft_ordinal == 0 || label_smoothing == 0,
                 "soft_ordinal and label_smoothing both soften the targets; set one of them");
  MN_CHECK_USAGE(balance == "none" || balance == "weights" || balance == "sampler",
                 "balance must be none, weights or sampler, got '", balance, "'");
  MN_CHECK_USAGE(std::isfinite(distill.alpha) && distill.alpha > 0 && distill.alpha <= 1,
                 "distill.alpha must be above 0 and at most 1, got ", distill.alpha);
  MN_CHECK_USAGE(std::isfinite(distill.temperature) && distill.temperature > 0 && distill.temperature <= 100,
                 "distill.temperature must be above 0 and at most 100, got ", distill.temperature);
  for (const auto& t : distill.teachers)
    MN_CHECK_USAGE(!t.empty(), "distill.teacher entries must be run folders, got an empty one");
  models::validate(model);
  MN_CHECK_USAGE(transfer.freeze >= -1, "transfer.freeze must be \"all\", \"none\" or a block count, got ",
                 transfer.freeze);
  MN_CHECK_USAGE(std::isfinite(transfer.backbone_lr_scale) && transfer.backbone_lr_scale > 0,
                 "transfer.backbone_lr_scale must be > 0, got ", transfer.backbone_lr_scale);
  MN_CHECK_USAGE(transfer.weights.empty() || transfer.init_from.empty(),
                 "transfer.weights and transfer.init_from exclude each other: start from one of them");
}

void TrainConfig::validate() const {
  validate_values();
  const auto& info = data::find_dataset(dataset);
  info.file(size);
  const bool ordinal = info.task == data::Task::OrdinalRegression;
  MN_CHECK_USAGE(soft_ordinal == 0 || ordinal, "soft_ordinal needs an ordinal task; ", dataset,
                 " is not one");
  MN_CHECK_USAGE(model.head != "corn" || ordinal, "model.head corn needs an ordinal task; ", dataset,
                 " is not one");
  MN_CHECK_USAGE(balance == "none" || info.task != data::Task::MultiLabel,
                 "balance applies to single-label tasks; ", dataset, " is multi-label");
  augment::validate(augment, info.spatial_dims());
  engine::tta_views(tta, augment);  // "flips" needs flips in the augmentation
}

json to_json(const TrainConfig& c) {
  json augment_json = json::array();
  for (const auto& t : c.augment) augment_json.push_back(augment::to_json(t));
  return json{
      {"name", c.name},
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
        {"stem", c.model.stem},
        {"input_size", c.model.input_size},
        {"imagenet_norm", c.model.imagenet_norm},
        {"head", c.model.head}}},
      {"epochs", c.epochs},
      {"batch_size", c.batch_size},
      {"eval_batch_size", c.eval_batch_size},
      {"optimizer", c.optimizer},
      {"lr", c.lr},
      {"weight_decay", c.weight_decay},
      {"momentum", c.momentum},
      {"schedule", c.schedule},
      {"warmup_epochs", c.warmup_epochs},
      {"label_smoothing", c.label_smoothing},
      {"soft_ordinal", c.soft_ordinal},
      {"balance", c.balance},
      {"distill",
       {{"teacher", c.distill.teachers}, {"alpha", c.distill.alpha}, {"temperature", c.distill.temperature}}},
      {"ema", c.ema},
      {"mixup", c.mixup},
      {"cutmix", c.cutmix},
      {"select", c.select},
      {"tta", c.tta},
      {"patience", c.patience},
      {"seed", c.seed},
      {"threads", c.threads},
      {"device", c.device},
      {"precision", c.precision},
      {"augment", augment_json},
      {"grad_norm_epochs", c.grad_norm_epochs},
      {"transfer",
       {{"weights", c.transfer.weights},
        {"init_from", c.transfer.init_from},
        {"freeze", c.transfer.freeze == -1  ? json("all")
                   : c.transfer.freeze == 0 ? json("none")
                                            : json(c.transfer.freeze)},
        {"backbone_lr_scale", c.transfer.backbone_lr_scale}}}};
}

namespace {
template <typename T>
void take(const json& j, const char* key, T& field) {
  core::take(j, key, field, "config key");
}

}  // namespace

int parse_freeze(const json& v) {
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "all") return -1;
    if (s == "none") return 0;
  } else if (v.is_number_integer() && v.get<int>() >= 0) {
    return v.get<int>();
  }
  MN_CHECK_USAGE(false, "transfer.freeze must be \"all\", \"none\" or a number of blocks, got ", v.dump());
  return 0;
}

TrainConfig config_from_json(const json& j, const TrainConfig& defaults) {
  MN_CHECK_USAGE(j.is_object(), "a config must be a JSON object");
  MN_CHECK_USAGE(!j.contains("arms"),
                 "this is an experiment file with several arms; run it with mednet experiment --config FILE "
                 "--out DIR");
  // clang-format off
  core::reject_unknown_keys(j, {"name", "description", "dataset", "size", "root", "model", "epochs",
                                "batch_size", "eval_batch_size", "optimizer", "lr", "weight_decay",
                                "momentum", "schedule", "warmup_epochs", "label_smoothing", "soft_ordinal",
                                "balance", "distill", "ema", "mixup", "cutmix", "select", "tta",
                                "patience", "seed", "threads", "device", "precision", "augment",
                                "grad_norm_epochs", "transfer"},
                            "config");
  // clang-format on
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
  take(j, "warmup_epochs", c.warmup_epochs);
  take(j, "label_smoothing", c.label_smoothing);
  take(j, "soft_ordinal", c.soft_ordinal);
  take(j, "balance", c.balance);
  if (j.contains("distill")) {
    const json& d = j.at("distill");
    MN_CHECK_USAGE(d.is_object(), "config key 'distill' must be an object");
    core::reject_unknown_keys(d, {"teacher", "alpha", "temperature"}, "distill");
    take(d, "teacher", c.distill.teachers);
    take(d, "alpha", c.distill.alpha);
    take(d, "temperature", c.distill.temperature);
  }
  take(j, "ema", c.ema);
  take(j, "mixup", c.mixup);
  take(j, "cutmix", c.cutmix);
  take(j, "select", c.select);
  take(j, "tta", c.tta);
  take(j, "patience", c.patience);
  take(j, "seed", c.seed);
  take(j, "threads", c.threads);
  take(j, "device", c.device);
  take(j, "precision", c.precision);
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
    core::reject_unknown_keys(m,
                              {"name", "widths", "convs_per_stage", "hidden", "dropout", "global_pool",
                               "stem", "input_size", "imagenet_norm", "head"},
                              "model");
    take(m, "name", c.model.name);
    take(m, "widths", c.model.widths);
    take(m, "convs_per_stage", c.model.convs_per_stage);
    take(m, "hidden", c.model.hidden);
    take(m, "dropout", c.model.dropout);
    take(m, "global_pool", c.model.global_pool);
    take(m, "stem", c.model.stem);
    take(m, "input_size", c.model.input_size);
    take(m, "imagenet_norm", c.model.imagenet_norm);
    take(m, "head", c.model.head);
  }
  if (j.contains("transfer")) {
    const json& t = j.at("transfer");
    MN_CHECK_USAGE(t.is_object(), "config key 'transfer' must be an object");
    core::reject_unknown_keys(t, {"weights", "init_from", "freeze", "backbone_lr_scale"}, "transfer");
    take(t, "weights", c.transfer.weights);
    take(t, "init_from", c.transfer.init_from);
    take(t, "backbone_lr_scale", c.transfer.backbone_lr_scale);
    if (t.contains("freeze")) c.transfer.freeze = parse_freeze(t.at("freeze"));
    // Pretrained backbones expect the statistics they were trained with.
    const bool norm_given = j.contains("model") && j.at("model").contains("imagenet_norm");
    if (!c.transfer.weights.empty() && !norm_given) c.model.imagenet_norm = true;
  }
  c.validate_values();
  return c;
}

TrainConfig load_config(const std::string& path) {
  const json j = core::read_json_file(path, "config");
  try {
    return config_from_json(j);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what(), e.kind());
  }
}

void write_config(const std::string& path, const TrainConfig& c) {
  core::write_file_atomic(path, to_json(c).dump(2) + "\n");
}

std::string selection_score(const TrainConfig& c) {
  if (c.select == "loss") return "loss";
  return c.select == "acc" ? "ACC" : "AUC";
}

}  // namespace mednet::run
