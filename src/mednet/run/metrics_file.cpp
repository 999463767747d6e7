#include "mednet/run/metrics_file.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/run/run_files.h"

namespace mednet::run {

using nlohmann::json;

std::string stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::Completed:
      return "completed";
    case StopReason::EarlyStopped:
      return "early-stopped";
    case StopReason::Interrupted:
      return "interrupted";
    case StopReason::NanLoss:
      return "nan-loss";
  }
  return "?";
}

namespace {
const auto num = core::finite_or_null;

json split_json(const SplitMetrics& s) {
  return json{{"auc", num(s.auc)}, {"acc", num(s.acc)}, {"loss", num(s.loss)}, {"warnings", s.warnings}};
}

SplitMetrics split_from_json(const json& j) {
  SplitMetrics s;
  s.auc = core::number_or_nan(j, "auc");
  s.acc = core::number_or_nan(j, "acc");
  s.loss = core::number_or_nan(j, "loss");
  s.warnings = j.value("warnings", std::vector<std::string>{});
  return s;
}
}  // namespace

json metrics_json(const RunMetrics& m) {
  json j{{"dataset", m.dataset},
         {"size", m.size},
         {"model", m.model},
         {"seed", m.seed},
         {"epochs_run", m.epochs_run},
         {"best_epoch", m.best_epoch},
         {"params", m.params},
         {"train_seconds", m.train_seconds},
         {"seconds_per_epoch", m.epochs_run > 0 ? m.train_seconds / m.epochs_run : 0.0},
         {"stop_reason", m.stop_reason},
         {"threads", m.threads},
         {"device", m.device},
         {"data_file", m.data_file},
         {"md5", m.md5},
         {"selection", "checkpoint with the best validation AUC"},
         {"backbone", m.backbone},
         {"trainable_params", m.trainable_params},
         {"feature_cache", m.feature_cache}};
  if (m.val) j["val"] = split_json(*m.val);
  if (m.test) j["test"] = split_json(*m.test);
  return j;
}

RunMetrics metrics_from_json(const json& j) {
  RunMetrics m;
  try {
    m.dataset = j.at("dataset").get<std::string>();
    m.size = j.at("size").get<int>();
    m.model = j.at("model").get<std::string>();
    m.seed = j.at("seed").get<uint64_t>();
    m.epochs_run = j.at("epochs_run").get<int>();
    m.best_epoch = j.at("best_epoch").get<int>();
    m.params = j.at("params").get<int64_t>();
    m.train_seconds = j.at("train_seconds").get<double>();
    m.stop_reason = j.at("stop_reason").get<std::string>();
    m.threads = j.at("threads").get<int>();
    m.device = j.at("device").get<std::string>();
    m.data_file = j.at("data_file").get<std::string>();
    m.md5 = j.at("md5").get<std::string>();
    m.backbone = j.value("backbone", m.backbone);
    m.trainable_params = j.value("trainable_params", m.params);
    m.feature_cache = j.value("feature_cache", false);
    if (j.contains("val")) m.val = split_from_json(j.at("val"));
    if (j.contains("test")) m.test = split_from_json(j.at("test"));
  } catch (const json::exception& e) {
    MN_CHECK(false, "metrics.json is damaged: ", e.what());
  }
  return m;
}

void write_metrics(const std::string& path, const RunMetrics& m) {
  core::write_file_atomic(path, metrics_json(m).dump(2) + "\n");
}

json read_metrics_json(const std::string& path) {
  return core::read_json_file(path, "metrics", /*damaged=*/true);
}

bool metrics_finished(const json& m) {
  return m.contains("test") && m.value("stop_reason", "") != "interrupted";
}

bool run_finished(const std::string& dir) {
  const RunFiles files(dir);
  return std::filesystem::exists(files.metrics()) && metrics_finished(read_metrics_json(files.metrics()));
}

}  // namespace mednet::run
