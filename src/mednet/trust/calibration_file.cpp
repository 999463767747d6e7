#include "mednet/trust/calibration_file.h"

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/trust/temperature.h"

namespace mednet::trust {

using nlohmann::json;

json conformal_json(const ConformalThreshold& t) {
  return {{"method", t.method},
          {"coverage", t.coverage},
          {"thresholds", t.thresholds},
          {"calibration_size", t.calibration_size}};
}

void write_calibration_file(const std::string& path, const CalibrationFile& c) {
  const json j = {{"temperature", c.temperature}, {"fitted_on", c.fitted_on},
                  {"fitted_size", c.fitted_size}, {"nll_before", c.nll_before},
                  {"nll_after", c.nll_after},     {"conformal", conformal_json(c.conformal)}};
  core::write_file_atomic(path, j.dump(2) + "\n");
}

std::optional<CalibrationFile> read_calibration_file(const std::string& path, data::Task task, int outputs) {
  if (!std::filesystem::exists(path)) return std::nullopt;
  const json j = core::read_json_file(path, "calibration file", /*damaged=*/true);
  CalibrationFile c;
  try {
    c.temperature = j.at("temperature").get<double>();
    c.fitted_on = j.at("fitted_on").get<std::string>();
    c.fitted_size = j.at("fitted_size").get<int64_t>();
    c.nll_before = j.at("nll_before").get<double>();
    c.nll_after = j.at("nll_after").get<double>();
    const json& q = j.at("conformal");
    c.conformal.method = q.at("method").get<std::string>();
    c.conformal.coverage = q.at("coverage").get<double>();
    c.conformal.thresholds = q.at("thresholds").get<std::vector<double>>();
    c.conformal.calibration_size = q.at("calibration_size").get<int64_t>();
  } catch (const json::exception& e) {
    MN_CHECK(false, path, " is damaged: ", e.what(), " (rewrite it with mednet trust)");
  }
  MN_CHECK(std::isfinite(c.temperature) && c.temperature > 0, path, " is damaged: temperature ",
           c.temperature, " (it must be finite and > 0; rewrite it with mednet trust)");
  MN_CHECK(std::isfinite(c.conformal.coverage) && c.conformal.coverage > 0 && c.conformal.coverage < 1, path,
           " is damaged: conformal coverage ", c.conformal.coverage, " is not between 0 and 1");
  const std::string method = task == data::Task::MultiLabel    ? "score per label"
                             : task == data::Task::BinaryClass ? "score"
                                                               : "aps";
  MN_CHECK(c.conformal.method == method, path, " holds '", c.conformal.method,
           "' sets, and this run's task takes '", method, "' (is it another run's file?)");
  const size_t want = task == data::Task::MultiLabel ? static_cast<size_t>(outputs) : 1;
  MN_CHECK(c.conformal.thresholds.size() == want, path, " holds ", c.conformal.thresholds.size(),
           " conformal thresholds where this run needs ", want, " (is it another run's file?)");
  for (double t : c.conformal.thresholds)
    MN_CHECK(std::isfinite(t) && t >= 0, path, " is damaged: a conformal threshold of ", t);
  return c;
}

CalibratedSplit apply_calibration(data::Task task, const at::Tensor& labels, const at::Tensor& probs,
                                  const CalibrationFile& c) {
  CalibratedSplit out;
  out.probs = apply_temperature(task, probs, c.temperature);
  out.before = metrics::calibration_scores(task, labels, probs);
  out.after = metrics::calibration_scores(task, labels, out.probs);
  out.sets = evaluate_sets(task, labels, prediction_sets(task, out.probs, c.conformal));
  return out;
}

}  // namespace mednet::trust
