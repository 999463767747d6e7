#include "mednet/experiments/study_report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/experiments/quant_experiment.h"
#include "mednet/experiments/stage_sections.h"

namespace mednet::experiments {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// " (lo to hi)" from a [lo, hi] entry, or "" when the entry is absent (summaries written before it).
std::string interval_of(const json& j, const char* key, bool signed_values) {
  if (!j.contains(key) || !j.at(key).is_array() || j.at(key).size() != 2) return "";
  auto v = [&](const json& x) {
    const double d = x.is_number() ? x.get<double>() : std::nan("");
    return signed_values ? core::format_signed(d) : core::format_fixed(d);
  };
  return " (" + v(j.at(key).at(0)) + " to " + v(j.at(key).at(1)) + ")";
}

}  // namespace

json open_section(ReportDoc& doc, const StageSpec& s, const std::string& file) {
  if (!fs::exists(file)) {
    doc.gap(s.name + ": no results yet (" + file + " is missing)");
    return json();
  }
  json j = core::read_json_file(file, "stage results", true);
  doc.heading(2, s.name + ": " + j.value("name", s.name), s.name);
  doc.text(j.value("description", std::string()));
  return j;
}

void report_cam_stage(ReportDoc& doc, const StageSpec& s, const std::string& out) {
  const std::string dir = out + "/" + s.name;
  const json g = open_section(doc, s, dir + "/study_stage.json");
  if (g.is_null()) return;
  Table t{{"entry", "model", "dataset", "method", "layer", "samples", "randomisation (rank corr.)",
           "deletion area by map", "deletion area, random order"},
          {},
          {}};
  std::vector<std::string> findings;
  struct Picture {
    std::string path, relative, caption;
  };
  std::vector<Picture> pictures;
  // An entry with a leaderboard shows its samples under every method there; its own pictures would
  // repeat them (and weigh on the page), so they stay in its folder.
  const auto ranked = g.value("leaderboard", json::object()).value("entries", std::vector<std::string>{});
  for (const auto& e : g.value("entries", json::array())) {
    const std::string entry = e.value("name", "?");
    const bool in_leaderboard = std::find(ranked.begin(), ranked.end(), entry) != ranked.end();
    for (const auto& method : g.value("methods", std::vector<std::string>{"gradcam"})) {
      const std::string sub = entry + "/" + method;
      const std::string cam = dir + "/" + sub + "/cam.json";
      if (!fs::exists(cam)) {
        t.add({entry, "", "", method, "", "", "missing: " + cam, "", ""}, true);
        doc.gap(s.name + ": " + sub + " has no cam.json (the run it explains may be missing)");
        continue;
      }
      try {
        const json c = core::read_json_file(cam, "cam.json", true);
        const json& d = c.at("deletion");
        const double by_map = core::number_at(d, "area_by_map"), random = core::number_at(d, "area_random");
        t.add({entry, c.value("model", ""), c.value("dataset", ""), method, c.value("layer", ""),
               std::to_string(c.at("samples").size()),
               core::format_fixed(core::number_at(c, "randomisation_rank_correlation_mean")),
               core::format_fixed(by_map, 4), core::format_fixed(random, 4)});
        findings.push_back(entry + ", " + method +
                           ": deleting the most highlighted positions first leaves a target-"
                           "probability area of " +
                           core::format_fixed(by_map, 4) + " against " + core::format_fixed(random, 4) +
                           " for a random order (" + core::format_signed(by_map - random, 4) +
                           "; lower means the map found what the model "
                           "uses; " +
                           std::to_string(c.at("samples").size()) + " images, no interval computed): " +
                           (by_map < random ? "faster than random" : "no faster than random") + ".");
        for (const char* png : {"cam_grid.png", "cam_planes.png"}) {
          if (!in_leaderboard && fs::exists(dir + "/" + sub + "/" + png))
            pictures.push_back({dir + "/" + sub + "/" + png, s.name + "/" + sub + "/" + png,
                                entry + ", " + method + " (" + c.value("layer", "") + ")"});
        }
      } catch (const std::exception& ex) {
        t.add({entry, "", "", method, "", "", std::string("damaged: ") + ex.what(), "", ""}, true);
        doc.gap(s.name + ": " + cam + " is damaged: " + ex.what());
      }
    }
  }
  doc.table(t);
  doc.heading(3, "Gallery");
  for (const auto& p : pictures) doc.image(p.path, p.relative, p.caption);
  if (pictures.empty()) doc.gap(s.name + ": no gallery images (built without cairo, or nothing ran)");
  doc.heading(3, "Conclusion");
  for (const auto& f : findings) doc.conclusion(f);
  report_cam_leaderboards(doc, s, out, g);
}

void report_quant_stage(ReportDoc& doc, const StageSpec& s, const std::string& out) {
  const std::string dir = out + "/" + s.name;
  const json q = open_section(doc, s, dir + "/summary.json");
  if (q.is_null()) return;
  try {  // the settings that ran (the study's preset may shorten the experiment file's)
    const QuantExperiment e = load_quant_experiment(dir + "/study_stage.json");
    Table t{{"variant", "mode", "observer", "calibration samples", "QAT epochs"}, {}, {}};
    for (const auto& v : e.variants) {
      const bool dynamic = v.mode == Method::Dynamic;
      t.add({v.label, quant::method_name(v.mode), dynamic ? "" : v.observer,
             dynamic ? "" : std::to_string(v.calib >= 0 ? v.calib : e.calib),
             v.mode == Method::Qat ? std::to_string(v.epochs) : ""});
    }
    doc.table(t);
  } catch (const std::exception& ex) {
    doc.gap(s.name + ": settings not shown: " + ex.what());
  }
  json size_ds = json::array(), latency_ds = json::array();
  struct Point {
    std::string name;
    double kb, ms, auc;
    size_t colour;
  };
  std::vector<Point> points;  // the trade-off in one picture
  size_t colour = 0;
  for (const auto& m : q.value("models", json::array())) {
    doc.heading(3, m.value("label", m.value("name", "")));
    Table t{
        {"variant", "file KB", "val AUC", "test AUC (95% interval)", "test ACC",
         "test AUC change vs fp32 (95% interval)", "agreement with fp32", "ms at batch 1", "ms at batch 256"},
        {},
        {}};
    const json& rows = m.at("rows");
    for (const auto& r : rows) {
      const std::string label = r.value("label", "");
      const bool fp32 = &r == &rows.at(0);
      t.add({label, core::format_fixed(core::number_at(r, "file_bytes") / 1024.0, 1),
             core::format_fixed(core::number_at(r, "val_auc")),
             core::format_fixed(core::number_at(r, "test_auc")) + interval_of(r, "test_auc_ci95", false),
             core::format_fixed(core::number_at(r, "test_acc")),
             fp32 ? ""
                  : core::format_signed(core::number_at(r, "test_auc") -
                                        core::number_at(rows.at(0), "test_auc")) +
                        interval_of(r, "test_auc_change_vs_fp32_ci95", true),
             core::format_fixed(100 * core::number_at(r, "agreement"), 1) + "%",
             core::format_fixed(core::number_at(r, "ms_batch1"), 3),
             core::format_fixed(core::number_at(r, "ms_batch256"), 1)});
      const std::string name = m.value("name", "") + ": " + label;
      size_ds.push_back(xy_dataset(name, {core::number_at(r, "file_bytes") / 1024.0},
                                   {core::number_at(r, "test_auc")}, colour));
      latency_ds.push_back(
          xy_dataset(name, {core::number_at(r, "ms_batch1")}, {core::number_at(r, "test_auc")}, colour));
      points.push_back({name, core::number_at(r, "file_bytes") / 1024.0, core::number_at(r, "ms_batch1"),
                        core::number_at(r, "test_auc"), colour});
      ++colour;
    }
    doc.table(t);
    if (!rows.empty()) {
      const json& fp = rows.at(0);
      for (size_t i = 1; i < rows.size(); ++i) {
        const json& r = rows.at(i);
        doc.conclusion(
            m.value("name", "") + ", " + r.value("label", "") + ": " +
            core::format_fixed(core::number_at(r, "file_bytes") / core::number_at(fp, "file_bytes"), 3) +
            "x the fp32 file, test AUC " +
            core::format_signed(core::number_at(r, "test_auc") - core::number_at(fp, "test_auc")) +
            interval_of(r, "test_auc_change_vs_fp32_ci95", true) + " and ACC " +
            core::format_signed(core::number_at(r, "test_acc") - core::number_at(fp, "test_acc")) +
            " against fp32, " + core::format_fixed(100 * core::number_at(r, "agreement"), 1) +
            "% of test predictions unchanged, batch-1 "
            "latency " +
            core::format_fixed(core::number_at(r, "ms_batch1") / core::number_at(fp, "ms_batch1"), 2) +
            "x fp32's.");
      }
    }
  }
  double largest = 0;
  for (const auto& p : points)
    if (std::isfinite(p.kb)) largest = std::max(largest, p.kb);
  json bubbles = json::array();
  for (const auto& p : points) {
    json d = xy_dataset(p.name + " (" + core::format_fixed(p.kb, 1) + " KB)", {p.ms}, {p.auc}, p.colour);
    // The radius grows with the square root of the size, so the area is proportional to it.
    d["data"][0]["r"] =
        largest > 0 && std::isfinite(p.kb) ? std::max(2.0, 20 * std::sqrt(p.kb / largest)) : 2.0;
    bubbles.push_back(d);
  }
  if (!bubbles.empty()) {
    json c = scatter_chart(
        s.name + ": test AUC against batch-1 latency; a disc's area is proportional to its file size",
        "ms per image (batch 1)", "test AUC", bubbles);
    c["type"] = "bubble";
    for (auto& d : c["data"]["datasets"]) d.erase("pointRadius");
    doc.chart(c, "", 360);
  }
  doc.open_grid();
  doc.chart(scatter_chart(s.name + ": file size against test AUC", "file size (KB)", "test AUC", size_ds),
            s.name + "/size_vs_auc.png", 320);
  doc.chart(scatter_chart(s.name + ": latency at batch 1 against test AUC", "ms per image (batch 1)",
                          "test AUC", latency_ds),
            s.name + "/latency_vs_auc.png", 320);
  doc.close_grid();
}

StudyReport write_study_report(const StudySpec& study, const std::string& out,
                               const std::vector<StageOutcome>& stages) {
  ReportDoc doc(study.name.empty() ? "Study report" : study.name);
  if (!study.description.empty()) doc.text(study.description);
  std::string preset = "?";
  try {
    preset = core::read_file(out + "/preset.txt");
    while (!preset.empty() && preset.back() == '\n') preset.pop_back();
  } catch (const Error&) {
  }
  doc.text("Preset: " + preset + ". Every number below is read from the run folders under " + out +
           "; scores are of the checkpoint each run chose on validation (each stage's settings say by which "
           "score), on the test split, with 95% percentile bootstrap intervals over the test images (1000 "
           "resamples).");
  report_study_summary(doc, study, out, stages, preset);
  for (const auto& s : study.stages) {
    try {
      if (s.kind == StageKind::Train) report_train_stage(doc, s, out);
      if (s.kind == StageKind::Cam) report_cam_stage(doc, s, out);
      if (s.kind == StageKind::Quant) report_quant_stage(doc, s, out);
      if (s.kind == StageKind::Trust) report_trust_stage(doc, s, out);
      if (s.kind == StageKind::Robustness) report_robustness_stage(doc, s, out);
    } catch (const std::exception& ex) {
      doc.gap(s.name + ": could not be reported: " + ex.what());
    }
  }
  doc.heading(2, "Appendix: how each stage ran", "appendix");
  Table t{{"stage", "kind", "file", "status", "seconds", "note"}, {}, {}};
  for (const auto& s : study.stages) {
    const StageOutcome* o = nullptr;
    for (const auto& x : stages)
      if (x.name == s.name) o = &x;
    const bool bad = o && (o->status == "failed" || o->status == "interrupted" || o->status == "not run");
    t.add({s.name, stage_kind_name(s.kind), s.file, o ? o->status : "not run",
           o ? core::format_fixed(o->seconds, 0) : "", o ? o->message : ""},
          bad || !o);
  }
  doc.table(t);
  StudyReport r;
  r.html_path = out + "/report.html";
  r.markdown_path = out + "/report.md";
  r.gaps = doc.gaps();
  core::write_file_atomic(r.html_path, doc.html());
  core::write_file_atomic(r.markdown_path, doc.markdown());
  return r;
}

}  // namespace mednet::experiments
