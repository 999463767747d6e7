#include "mednet/experiments/quant_experiment.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "mednet/core/error.h"
#include "mednet/core/folder_lock.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/report/plot.h"

namespace mednet::experiments {

namespace fs = std::filesystem;

namespace {

std::string fmt(double v, int decimals) {
  return core::format_signed(v, decimals);
}

}  // namespace

QuantExperiment load_quant_experiment(const std::string& path) {
  const nlohmann::json j = core::read_json_file(path, "experiment file");
  core::reject_unknown_keys(j, {"name", "description", "calib", "latency", "models", "variants"}, path);
  QuantExperiment e;
  const char* what = "experiment key";
  core::take(j, "name", e.name, what);
  core::take(j, "description", e.description, what);
  core::take(j, "calib", e.calib, what);
  if (j.contains("latency")) {
    core::reject_unknown_keys(j["latency"], {"enabled", "repeats_large", "repeats_single"},
                              path + ": latency");
    core::take(j["latency"], "enabled", e.latency.enabled, what);
    core::take(j["latency"], "repeats_large", e.latency.repeats_large, what);
    core::take(j["latency"], "repeats_single", e.latency.repeats_single, what);
  }
  MN_CHECK_USAGE(j.contains("models") && j["models"].is_array() && !j["models"].empty(), path,
                 ": 'models' must list at least one {name, run}");
  for (const auto& m : j["models"]) {
    core::reject_unknown_keys(m, {"name", "label", "run", "made_by"}, path + ": a model");
    QuantModelEntry q;
    core::take(m, "name", q.name, what);
    core::take(m, "label", q.label, what);
    core::take(m, "run", q.run, what);
    core::take(m, "made_by", q.made_by, what);
    MN_CHECK_USAGE(!q.name.empty() && !q.run.empty(), path, ": every model needs a name and a run");
    if (q.label.empty()) q.label = q.name;
    e.models.push_back(q);
  }
  MN_CHECK_USAGE(j.contains("variants") && j["variants"].is_array() && !j["variants"].empty(), path,
                 ": 'variants' must list at least one {name, mode}");
  for (const auto& v : j["variants"]) {
    core::reject_unknown_keys(v, {"name", "label", "mode", "observer", "calib", "epochs", "lr"},
                              path + ": a variant");
    QuantVariant q;
    std::string mode;
    core::take(v, "name", q.name, what);
    core::take(v, "label", q.label, what);
    core::take(v, "mode", mode, what);
    core::take(v, "observer", q.observer, what);
    core::take(v, "calib", q.calib, what);
    core::take(v, "epochs", q.epochs, what);
    core::take(v, "lr", q.lr, what);
    MN_CHECK_USAGE(!q.name.empty(), path, ": every variant needs a name");
    q.mode = quant::parse_method(mode);
    quant::Observer check(q.observer);
    if (q.label.empty()) q.label = q.name;
    e.variants.push_back(q);
  }
  MN_CHECK_USAGE(e.calib >= 1, path, ": calib ", e.calib, " must be at least 1");
  return e;
}

std::vector<std::string> target_checks(const std::vector<Row>& rows,
                                       const std::vector<QuantVariant>& variants) {
  std::vector<std::string> out;
  if (rows.size() != variants.size() + 1 || rows.empty()) return out;
  const Row& fp = rows[0];
  auto line = [&](bool ok, const std::string& text) {
    out.push_back(std::string(ok ? "PASS " : "MISS ") + text);
  };
  for (size_t i = 0; i < variants.size(); ++i) {
    const Row& r = rows[i + 1];
    const QuantVariant& v = variants[i];
    const double ratio = static_cast<double>(r.file_bytes) / static_cast<double>(fp.file_bytes);
    line(ratio <= 0.3, r.label + ": file " + core::format_fixed(ratio, 3) + "x fp32 (target <= 0.3x)");
    const double tol = v.mode == Method::Dynamic ? 0.02 : 0.01;
    const double drop = fp.test_auc - r.test_auc;
    line(drop <= tol, r.label + ": test AUC " + core::format_fixed(r.test_auc, 4) + " vs fp32 " +
                          core::format_fixed(fp.test_auc, 4) + " (" + fmt(-drop, 4) + "; target: at most " +
                          core::format_fixed(tol, 2) + " lower)");
    if (v.mode != Method::Dynamic && std::isfinite(r.ms_batch256) && std::isfinite(fp.ms_batch256)) {
      const double speed = fp.ms_batch256 / r.ms_batch256;
      line(speed >= 4, r.label + ": " + core::format_fixed(speed, 2) + "x fp32's speed at batch 256 (" +
                           core::format_fixed(r.ms_batch256, 1) + " vs " +
                           core::format_fixed(fp.ms_batch256, 1) + " ms; target >= 4x)");
    }
    if (v.mode == Method::Qat) {
      for (size_t k = 0; k < variants.size(); ++k) {
        if (variants[k].mode != Method::Static || variants[k].observer != v.observer) continue;
        const Row& s = rows[k + 1];
        line(r.test_auc >= s.test_auc, r.label + ": test AUC " + core::format_fixed(r.test_auc, 4) + " vs " +
                                           s.label + " " + core::format_fixed(s.test_auc, 4) +
                                           " (target: QAT at least as good)");
      }
    }
  }
  return out;
}

std::vector<QuantModelResult> run_quant_experiment(const QuantExperiment& e, const std::string& out_dir,
                                                   const std::string& root, bool check_md5,
                                                   const std::function<void(const std::string&)>& log) {
  // Every run must exist before hours of work start.
  for (const auto& m : e.models) {
    MN_CHECK_USAGE(fs::exists(m.run + "/best.pt"), "model '", m.name, "': ", m.run,
                   " has no best.pt; train it first", (m.made_by.empty() ? "" : " (" + m.made_by + ")"));
  }
  const core::FolderLock lock = core::FolderLock::acquire(out_dir);
  std::vector<QuantModelResult> results;
  nlohmann::json summary = {
      {"name", e.name}, {"description", e.description}, {"models", nlohmann::json::array()}};
  std::ostringstream md;
  md << "# " << e.name << "\n\n" << e.description << "\n\n";
  std::vector<report::Panel> size_panels, latency_panels;
  for (const auto& m : e.models) {
    log("== " + m.label + " (" + m.run + ")");
    LoadedRun run = quant::load_run(m.run, root, check_md5);
    QuantModelResult res;
    res.entry = m;
    res.rows.push_back(quant::fp32_row(run, e.latency));
    log("fp32: test AUC " + core::format_fixed(res.rows[0].test_auc, 4) + ", batch 256 " +
        core::format_fixed(res.rows[0].ms_batch256, 1) + " ms");
    for (const auto& v : e.variants) {
      log("-- " + v.label);
      QuantizeOptions o;
      o.mode = v.mode;
      o.calib = v.calib > 0 ? v.calib : e.calib;
      o.observer = v.observer;
      o.qat_epochs = v.epochs;
      o.qat_lr = v.lr;
      o.latency = e.latency;
      o.label = v.label;
      const QuantizeResult q =
          quant::quantize_run(run, o, out_dir + "/" + m.name + "/" + v.name, &res.rows[0], log);
      res.rows.push_back(q.row);
      res.kernels.push_back(q.kernels);
      log(v.label + ": test AUC " + core::format_fixed(q.row.test_auc, 4) + ", agreement " +
          core::format_fixed(100 * q.row.agreement, 1) + "%, batch 256 " +
          core::format_fixed(q.row.ms_batch256, 1) + " ms");
    }
    md << "## " << m.label << "\n\nRun: `" << m.run << "` (" << run.config.dataset << ", "
       << run.config.model.name << "), " << res.rows[0].threads << " threads.\n\n"
       << quant::rows_table(res.rows) << "\n";
    const auto checks = target_checks(res.rows, e.variants);
    md << "Targets:\n\n";
    for (const auto& c : checks) md << "- " << c << "\n";
    md << "\nLayers computed in float (no int8 kernel used):\n\n";
    bool any = false;
    for (size_t i = 0; i < e.variants.size(); ++i)
      for (const auto& k : res.kernels[i])
        if (!k.int8) {
          md << "- " << e.variants[i].label << ": " << k.layer << ": " << k.kernel << "\n";
          any = true;
        }
    if (!any) md << "- none\n";
    md << "\n";

    nlohmann::json jm = {{"name", m.name},
                         {"label", m.label},
                         {"run", m.run},
                         {"rows", nlohmann::json::array()},
                         {"targets", checks}};
    for (const auto& r : res.rows) jm["rows"].push_back(quant::row_json(r));
    summary["models"].push_back(jm);

    report::Series size;
    size.line = false;
    size.markers = true;
    report::Series speed = size;
    speed.rgb = 0xd62728;
    for (const auto& r : res.rows) {
      size.x.push_back(static_cast<double>(r.file_bytes) / 1024.0);
      size.y.push_back(r.test_auc);
      size.labels.push_back(r.label);
      speed.x.push_back(r.ms_batch256);
      speed.y.push_back(r.test_auc);
      speed.labels.push_back(r.label);
    }
    report::Panel by_size, by_latency;
    by_size.title = by_latency.title = m.label;
    by_size.xlabel = "file size (KB)";
    by_latency.xlabel = "latency, batch 256 (ms)";
    by_size.ylabel = by_latency.ylabel = "test AUC";
    by_size.series = {size};
    by_latency.series = {speed};
    size_panels.push_back(by_size);
    latency_panels.push_back(by_latency);
    results.push_back(res);
  }
  core::write_file_atomic(out_dir + "/summary.md", md.str());
  core::write_file_atomic(out_dir + "/summary.json", summary.dump(2) + "\n");
  if (report::plots_available()) {
    report::save_png(size_panels, e.name + ": size vs test AUC", out_dir + "/size_vs_auc.png");
    if (e.latency.enabled)
      report::save_png(latency_panels, e.name + ": latency vs test AUC", out_dir + "/latency_vs_auc.png");
  }
  return results;
}

}  // namespace mednet::experiments
