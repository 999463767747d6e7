#include "mednet/run/metrics_file.h"

#include <cmath>
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

json interval_json(const metrics::Interval& i) {
  return json::array({num(i.lo), num(i.hi)});
}

metrics::Interval interval_from_json(const json& j) {
  MN_CHECK(j.is_array() && j.size() == 2, "an interval must be [lo, hi]");
  auto v = [](const json& x) { return x.is_number() ? x.get<double>() : std::nan(""); };
  return metrics::Interval{v(j[0]), v(j[1])};
}

json split_json(const SplitMetrics& s) {
  json j{{"auc", num(s.auc)}, {"acc", num(s.acc)}, {"loss", num(s.loss)}, {"warnings", s.warnings}};
  if (s.ci) {
    j["ci95"] = {{"auc", interval_json(s.ci->auc)},
                 {"acc", interval_json(s.ci->acc)},
                 {"method", "percentile bootstrap of the split's samples"},
                 {"resamples", s.ci->resamples},
                 {"undefined_auc_resamples", s.ci->undefined_auc},
                 {"seed", s.bootstrap_seed}};
  }
  if (!s.per_class_auc.empty()) {
    json pc = json::array();
    for (double v : s.per_class_auc) pc.push_back(num(v));
    j["per_class_auc"] = pc;
  }
  if (!s.confusion.empty()) j["confusion"] = s.confusion;
  if (!s.roc.empty()) {
    json roc = json::array();
    for (const auto& r : s.roc) roc.push_back({{"name", r.name}, {"fpr", r.fpr}, {"tpr", r.tpr}});
    j["roc"] = roc;
  }
  if (s.calibration) j["calibration"] = calibration_json(*s.calibration, &s.calibration_ci, s.bootstrap_seed);
  if (!s.result_file.empty()) j["result_file"] = s.result_file;
  return j;
}

SplitMetrics split_from_json(const json& j) {
  SplitMetrics s;
  s.auc = core::number_or_nan(j, "auc");
  s.acc = core::number_or_nan(j, "acc");
  s.loss = core::number_or_nan(j, "loss");
  s.warnings = j.value("warnings", std::vector<std::string>{});
  if (j.contains("ci95")) {
    const json& c = j.at("ci95");
    s.ci = metrics::ScoreIntervals{interval_from_json(c.at("auc")), interval_from_json(c.at("acc")),
                                   core::whole_number<int>(c.at("resamples"), "resamples"),
                                   c.value("undefined_auc_resamples", 0)};
    s.bootstrap_seed = c.value("seed", uint64_t{0});
  }
  if (j.contains("per_class_auc")) {
    for (const auto& v : j.at("per_class_auc"))
      s.per_class_auc.push_back(v.is_number() ? v.get<double>() : std::nan(""));
  }
  if (j.contains("confusion")) s.confusion = j.at("confusion").get<std::vector<std::vector<int64_t>>>();
  if (j.contains("roc")) {
    for (const auto& r : j.at("roc")) {
      s.roc.push_back({r.at("name").get<std::string>(), r.at("fpr").get<std::vector<double>>(),
                       r.at("tpr").get<std::vector<double>>()});
    }
  }
  if (j.contains("calibration")) {
    const json& c = j.at("calibration");
    s.calibration =
        metrics::CalibrationScores{core::number_or_nan(c, "ece"), core::number_or_nan(c, "mce"),
                                   core::number_or_nan(c, "brier"), core::number_or_nan(c, "nll")};
    if (c.contains("ci95")) {
      const json& ci = c.at("ci95");
      s.calibration_ci = {interval_from_json(ci.at("ece")), interval_from_json(ci.at("mce")),
                          interval_from_json(ci.at("brier")), interval_from_json(ci.at("nll")),
                          core::whole_number<int>(ci.at("resamples"), "resamples")};
    }
  }
  s.result_file = j.value("result_file", "");
  return s;
}
}  // namespace

json calibration_json(const metrics::CalibrationScores& c, const metrics::CalibrationIntervals* ci,
                      uint64_t seed) {
  json j = {{"ece", num(c.ece)},
            {"mce", num(c.mce)},
            {"brier", num(c.brier)},
            {"nll", num(c.nll)},
            {"bins", metrics::kCalibrationBins}};
  if (ci && ci->resamples > 0) {
    j["ci95"] = {{"ece", interval_json(ci->ece)},     {"mce", interval_json(ci->mce)},
                 {"brier", interval_json(ci->brier)}, {"nll", interval_json(ci->nll)},
                 {"resamples", ci->resamples},        {"seed", seed}};
  }
  return j;
}

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
         {"selection", m.selection},
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
    m.size = core::whole_number<int>(j.at("size"), "size");
    m.model = j.at("model").get<std::string>();
    m.seed = core::whole_number<uint64_t>(j.at("seed"), "seed");
    m.epochs_run = core::whole_number<int>(j.at("epochs_run"), "epochs_run");
    m.best_epoch = core::whole_number<int>(j.at("best_epoch"), "best_epoch");
    m.params = core::whole_number<int64_t>(j.at("params"), "params");
    m.train_seconds = j.at("train_seconds").get<double>();
    m.stop_reason = j.at("stop_reason").get<std::string>();
    m.threads = core::whole_number<int>(j.at("threads"), "threads");
    m.device = j.at("device").get<std::string>();
    m.data_file = j.at("data_file").get<std::string>();
    m.md5 = j.at("md5").get<std::string>();
    m.backbone = j.value("backbone", m.backbone);
    m.trainable_params = j.value("trainable_params", m.params);
    m.feature_cache = j.value("feature_cache", false);
    m.selection = j.value("selection", m.selection);
    if (j.contains("val")) m.val = split_from_json(j.at("val"));
    if (j.contains("test")) m.test = split_from_json(j.at("test"));
  } catch (const json::exception& e) {
    MN_CHECK(false, "metrics.json is damaged: ", e.what());
  } catch (const Error& e) {
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

metrics::Interval interval_at(const json& parent, const char* key) {
  if (!parent.is_object() || !parent.contains(key)) return {std::nan(""), std::nan("")};
  const json& j = parent.at(key);
  if (!j.is_array() || j.size() != 2) return {std::nan(""), std::nan("")};
  return interval_from_json(j);
}

}  // namespace mednet::run
