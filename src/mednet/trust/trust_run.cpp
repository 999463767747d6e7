#include "mednet/trust/trust_run.h"

#include <sstream>

#include <ATen/ATen.h>

#include "mednet/core/error.h"
#include "mednet/core/folder_lock.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/metrics/metrics.h"
#include "mednet/report/plot.h"
#include "mednet/run/metrics_file.h"
#include "mednet/run/open_run.h"
#include "mednet/run/split_results.h"
#include "mednet/trust/calibration_file.h"
#include "mednet/trust/temperature.h"

namespace mednet::trust {

using nlohmann::json;

namespace {

SplitTrust measure(data::Task task, const at::Tensor& labels, const at::Tensor& raw, const at::Tensor& scaled,
                   bool intervals) {
  SplitTrust s;
  s.before = metrics::calibration_scores(task, labels, raw);
  s.after = metrics::calibration_scores(task, labels, scaled);
  if (intervals) {
    metrics::BootstrapOptions o;
    o.seed = run::kBootstrapSeed;
    s.before_ci = metrics::calibration_intervals(task, labels, raw, o);
    s.after_ci = metrics::calibration_intervals(task, labels, scaled, o);
  }
  const metrics::Scores b = metrics::evaluate(task, labels, raw), a = metrics::evaluate(task, labels, scaled);
  s.auc_before = b.auc;
  s.acc_before = b.acc;
  s.auc_after = a.auc;
  s.acc_after = a.acc;
  return s;
}

json split_json(const SplitTrust& s) {
  return {{"before", run::calibration_json(s.before, &s.before_ci, run::kBootstrapSeed)},
          {"after", run::calibration_json(s.after, &s.after_ci, run::kBootstrapSeed)},
          {"auc_before", s.auc_before},
          {"acc_before", s.acc_before},
          {"auc_after", s.auc_after},
          {"acc_after", s.acc_after}};
}

// What a reliability diagram's axes are for the task (calibration.h says what is binned).
std::pair<std::string, std::string> reliability_axes(const data::DatasetInfo& info) {
  if (info.task == data::Task::BinaryClass)
    return {"predicted probability of " + info.labels.back(), "fraction that is " + info.labels.back()};
  if (info.task == data::Task::MultiLabel)
    return {"predicted probability of a label", "fraction with the label"};
  return {"confidence (top class's probability)", "accuracy"};
}

report::Panel reliability_panel(const std::string& title, const std::vector<metrics::ReliabilityBin>& bins,
                                const data::DatasetInfo& info) {
  report::Panel p;
  p.title = title;
  std::tie(p.xlabel, p.ylabel) = reliability_axes(info);
  p.series.push_back(report::line_series("perfect calibration", {0, 1}, {0, 1}, 0x999999, true));
  report::Series s;
  s.name = "one dot per bin of 1/15";
  s.rgb = 0x1f77b4;
  s.markers = true;
  for (const auto& b : bins) {
    if (b.count == 0) continue;
    s.x.push_back(b.confidence);
    s.y.push_back(b.accuracy);
  }
  p.series.push_back(s);
  return p;
}

}  // namespace

TrustResult trust_run(const std::string& dir, const TrustOptions& o) {
  MN_CHECK_USAGE(std::isfinite(o.coverage) && o.coverage > 0 && o.coverage < 1,
                 "--coverage must be between 0 and 1 (for example 0.9), got ", o.coverage);
  MN_CHECK_USAGE(run::run_finished(dir), dir, " is not a finished run (no metrics.json); train it first");
  run::OpenRunOptions open;
  open.root = o.root;
  open.check_md5 = o.check_md5;
  open.load_model = o.ood;
  run::OpenRun r = run::open_run(dir, open);
  const json m = core::read_json_file(r.files.metrics(), "metrics.json", /*damaged=*/true);
  const data::Task task = r.info->task;
  const at::Tensor val_y = r.data.val.labels, test_y = r.data.test.labels;
  const at::Tensor val_p = run::read_split_probs(dir, m, "val"),
                   test_p = run::read_split_probs(dir, m, "test");

  TrustResult t;
  t.class_names = r.info->labels;
  t.temperature = fit_temperature(task, val_y, val_p);
  const at::Tensor val_t = apply_temperature(task, val_p, t.temperature);
  const at::Tensor test_t = apply_temperature(task, test_p, t.temperature);
  t.val = measure(task, val_y, val_p, val_t, /*intervals=*/false);
  t.test = measure(task, test_y, test_p, test_t, /*intervals=*/true);
  t.conformal = fit_conformal(task, val_y, val_t, o.coverage);
  t.test_sets = evaluate_sets(task, test_y, prediction_sets(task, test_t, t.conformal));

  CalibrationFile cal;
  cal.temperature = t.temperature;
  cal.fitted_size = r.data.val.size();
  cal.nll_before = t.val.before.nll;
  cal.nll_after = t.val.after.nll;
  cal.conformal = t.conformal;
  const json conformal = conformal_json(t.conformal);
  json per_class = json::array();
  for (size_t c = 0; c < t.test_sets.class_coverage.size(); ++c) {
    per_class.push_back(
        {{"class", c < t.class_names.size() ? t.class_names[c] : std::to_string(c)},
         {"count", t.test_sets.class_count[c]},
         {"coverage", std::isfinite(t.test_sets.class_coverage[c]) ? json(t.test_sets.class_coverage[c])
                                                                   : json(nullptr)}});
  }
  t.summary = {
      {"run", dir},
      {"task", data::task_name(task)},
      {"temperature", t.temperature},
      {"val", split_json(t.val)},
      {"test", split_json(t.test)},
      {"conformal", conformal},
      {"test_sets",
       {{"coverage", t.test_sets.coverage}, {"mean_size", t.test_sets.mean_size}, {"per_class", per_class}}}};

  std::ostringstream md;
  const auto f3 = [](double v) { return core::format_fixed(v, 3); };
  md << "# How far to trust " << dir << "\n\n"
     << r.config.model.name << " on " << r.info->display_name << " " << r.config.size << ", seed "
     << r.config.seed << "; scores from the run's result files. Temperature fitted on validation ("
     << r.data.val.size() << " images): T = " << core::format_fixed(t.temperature, 4) << " (validation NLL "
     << f3(t.val.before.nll) << " -> " << f3(t.val.after.nll) << ").\n\n"
     << "| test (" << r.data.test.size()
     << " images) | ECE (95% interval) | MCE | Brier | NLL | AUC | ACC |\n"
     << "|---|---|---|---|---|---|---|\n";
  const auto row = [&](const char* label, const metrics::CalibrationScores& c,
                       const metrics::CalibrationIntervals& ci, double auc, double acc) {
    md << "| " << label << " | " << metrics::format_with_interval(c.ece, ci.ece, 4) << " | " << f3(c.mce)
       << " | " << metrics::format_with_interval(c.brier, ci.brier, 4) << " | "
       << metrics::format_with_interval(c.nll, ci.nll, 4) << " | " << f3(auc) << " | " << f3(acc) << " |\n";
  };
  row("as trained", t.test.before, t.test.before_ci, t.test.auc_before, t.test.acc_before);
  row("temperature-scaled", t.test.after, t.test.after_ci, t.test.auc_after, t.test.acc_after);
  const CoverageWords words = coverage_words(task);
  md << "\n"
     << core::format_fixed(100 * o.coverage, 0) << "% conformal sets (" << t.conformal.method
     << ", calibrated on validation after the temperature; threshold "
     << core::join(t.conformal.thresholds, ", ") << "): on test they hold " << words.truth << " for "
     << core::format_fixed(100 * t.test_sets.coverage, 1) << "% of " << words.counted << ", with "
     << core::format_fixed(t.test_sets.mean_size, 2) << " " << words.size << " on average.\n\n"
     << "| " << words.per_class << " | test images | covered |\n|---|---|---|\n";
  for (const auto& c : per_class)
    md << "| " << c["class"].get<std::string>() << " | " << c["count"].get<int64_t>() << " | "
       << (c["coverage"].is_null() ? "n/a" : core::format_fixed(100 * c["coverage"].get<double>(), 1) + "%")
       << " |\n";
  if (o.ood) {
    t.ood = measure_ood(r, c10::kCPU, o.ood_sets, o.progress);
    t.summary["ood"] = t.ood->summary;
    md << "\n" << t.ood->markdown;
  }
  t.markdown = md.str();

  const core::FolderLock lock = core::FolderLock::acquire(dir);  // it writes into the run folder
  write_calibration_file(dir + "/calibration.json", cal);
  if (t.ood) write_ood_file(dir + "/ood.safetensors", t.ood->detector);
  core::write_file_atomic(dir + "/trust.json", t.summary.dump(2) + "\n");
  core::write_file_atomic(dir + "/trust.md", t.markdown);
  if (report::plots_available()) {
    report::save_png(
        {reliability_panel("as trained", metrics::reliability_bins(task, test_y, test_p), *r.info),
         reliability_panel("temperature-scaled (T = " + core::format_fixed(t.temperature, 3) + ")",
                           metrics::reliability_bins(task, test_y, test_t), *r.info)},
        "Reliability on test: " + r.config.model.name + ", " + r.info->display_name,
        dir + "/reliability.png");
  }
  return t;
}

}  // namespace mednet::trust
