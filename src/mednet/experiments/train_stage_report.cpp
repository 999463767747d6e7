// The report section of a training stage: settings, test scores with intervals beside the published
// rows, learning curves, ROC curves, confusion matrices, paired comparisons, gradient flow, and a
// conclusion written from those numbers.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "mednet/core/error.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/data/catalog.h"
#include "mednet/experiments/experiment_report.h"
#include "mednet/experiments/stage_sections.h"
#include "mednet/metrics/bootstrap.h"
#include "mednet/report/benchmarks.h"
#include "mednet/run/config.h"
#include "mednet/run/grad_norms.h"
#include "mednet/run/metrics_file.h"
#include "mednet/run/run_files.h"

namespace mednet::experiments {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// The config a run really trained with (its config.json), else the arm's from the experiment file.
run::TrainConfig trained_config(const ArmResult& a) {
  for (const auto& r : a.runs) {
    try {
      if (fs::exists(run::RunFiles(r.dir).config())) return run::load_config(run::RunFiles(r.dir).config());
    } catch (const Error&) {
    }
  }
  return a.config;
}

const SeedRun* first_finished(const ArmResult& a) {
  for (const auto& r : a.runs)
    if (r.finished) return &r;
  return nullptr;
}

void settings(ReportDoc& doc, const ExperimentSpec& e, const std::vector<ArmResult>& arms) {
  Table t{{"arm", "dataset", "model", "starts from", "epochs (max)", "patience", "batch", "optimizer", "lr",
           "schedule", "augmentation", "checkpoint chosen by", "seeds"},
          {},
          {}};
  std::string seeds;
  for (uint64_t s : e.seeds) seeds += (seeds.empty() ? "" : ", ") + std::to_string(s);
  for (const auto& a : arms) {
    const run::TrainConfig c = trained_config(a);
    const SeedRun* r = first_finished(a);
    const std::string start = r ? r->metrics.value("backbone", "random-init") : "n/a";
    // As the run wrote it (files from before `selection`: RunMetrics' default), else as its config would.
    const std::string chosen_by = r ? r->metrics.value("selection", run::RunMetrics{}.selection)
                                    : "checkpoint with the best validation " + run::selection_score(c);
    t.add({a.arm->label, c.dataset + " " + std::to_string(c.size), c.model.name, start,
           std::to_string(c.epochs), std::to_string(c.patience), std::to_string(c.batch_size), c.optimizer,
           core::format_fixed(c.lr, 4), c.schedule,
           c.augment.empty() ? "none" : std::to_string(c.augment.size()) + " transforms", chosen_by, seeds});
  }
  doc.table(t);
}

void scores(ReportDoc& doc, const std::vector<ArmResult>& arms, std::vector<std::string>& flags) {
  Table t{{"arm / method", "seed", "best epoch / run", "val AUC", "test AUC (95% interval)",
           "test ACC (95% interval)", "s / epoch"},
          {},
          {}};
  for (const auto& a : arms) {
    const run::TrainConfig c = trained_config(a);
    if (std::find(flags.begin(), flags.end(), c.dataset) == flags.end()) flags.push_back(c.dataset);
    for (const auto& r : a.runs) {
      if (!r.finished) {
        const std::string why = !r.problem.empty()  ? r.problem
                                : fs::exists(r.dir) ? "not finished (resume it with the same command)"
                                                    : "not run";
        t.add({a.arm->label, std::to_string(r.seed), why, "", "", "", ""}, true);
        doc.gap(a.arm->label + ", seed " + std::to_string(r.seed) + " (" + r.dir + "): " + why);
        continue;
      }
      const json& m = r.metrics;
      t.add({a.arm->label, std::to_string(r.seed),
             core::format_fixed(core::number_at(m, "best_epoch"), 0) + " / " +
                 core::format_fixed(core::number_at(m, "epochs_run"), 0),
             core::format_fixed(core::number_at(m, "val", "auc")), value_with_interval(m.at("test"), "auc"),
             value_with_interval(m.at("test"), "acc"),
             core::format_fixed(core::number_at(m, "seconds_per_epoch"), 1)});
    }
    if (a.runs.size() > 1) {
      std::vector<double> auc, acc;
      for (const auto& r : a.runs)
        if (r.finished)
          auc.push_back(core::number_at(r.metrics, "test", "auc")),
              acc.push_back(core::number_at(r.metrics, "test", "acc"));
      const auto [am, asd] = mean_sd(auc);
      const auto [cm, csd] = mean_sd(acc);
      t.add({a.arm->label, "mean (sd) of " + std::to_string(auc.size()), "", "",
             core::format_fixed(am) + " (" + core::format_fixed(asd, 3) + ")",
             core::format_fixed(cm) + " (" + core::format_fixed(csd, 3) + ")", ""});
    }
  }
  doc.table(t);
  std::vector<ForestRow> runs;
  for (const auto& a : arms)
    for (const auto& r : a.runs) {
      if (!r.finished) continue;
      const json& test = r.metrics.at("test");
      const auto top = report::best_medmnist_v2_row(r.metrics.value("dataset", ""));
      const double best = top ? top->auc : NAN;
      runs.push_back({a.arm->label + (a.runs.size() > 1 ? ", seed " + std::to_string(r.seed) : ""),
                      core::number_at(test, "auc"),
                      run::interval_at(test.value("ci95", json::object()), "auc"), best});
    }
  if (!runs.empty())
    doc.chart(forest_chart("Test AUC of each run, with its 95% interval over the test images", "test AUC",
                           "test AUC of the run", "best published MedMNIST v2 AUC of its dataset", runs),
              "", forest_height(runs.size()));
  for (const auto& flag : flags) {
    const auto rows = report::medmnist_v2_rows(flag);
    if (rows.empty()) continue;
    const report::BenchmarkRow best = *report::best_medmnist_v2_row(flag);
    const std::string name = data::find_dataset(flag).display_name;
    Table p{{"MedMNIST v2 (published), " + name, "test AUC", "test ACC"}, {}, {}};
    for (const auto& row : rows)
      p.add({row.method, core::format_fixed(row.auc), core::format_fixed(row.acc)});
    doc.open_details("The " + std::to_string(rows.size()) + " published MedMNIST v2 rows of " + name +
                     " (best AUC: " + best.method + ", " + core::format_fixed(best.auc) + ")");
    doc.table(p);
    doc.close_details();
  }
}

// Validation AUC of every run in one chart, then each arm's losses in its own chart, side by side.
void curves(ReportDoc& doc, const std::vector<ArmResult>& arms, const std::string& stage) {
  json auc = json::array();
  std::vector<std::pair<std::string, json>> losses;  // (arm, data sets)
  size_t colour = 0;
  for (const auto& a : arms) {
    json loss = json::array();
    size_t seed_colour = 0;
    for (const auto& r : a.runs) {
      if (r.history.empty()) continue;
      std::vector<double> x, va, tl, vl;
      for (const auto& h : r.history) {
        x.push_back(h.epoch);
        va.push_back(h.val_auc);
        tl.push_back(h.train_loss);
        vl.push_back(h.val_loss);
      }
      const std::string seed = a.runs.size() > 1 ? "seed " + std::to_string(r.seed) : "";
      auc.push_back(xy_dataset(a.arm->label + (seed.empty() ? "" : ", " + seed), x, va, colour));
      loss.push_back(xy_dataset((seed.empty() ? "" : seed + " ") + "train", x, tl, seed_colour));
      loss.push_back(xy_dataset((seed.empty() ? "" : seed + " ") + "validation", x, vl, seed_colour, true));
      ++seed_colour;
    }
    if (!loss.empty()) losses.push_back({a.arm->label, loss});
    ++colour;
  }
  if (auc.empty()) return doc.gap(stage + ": no learning curves (no run has a history.csv)");
  doc.chart(line_chart(stage + ": validation AUC per epoch", "epoch", "AUC", auc), stage + "/curves.png");
  doc.open_grid();
  for (const auto& [arm, loss] : losses)
    doc.chart(
        line_chart(stage + ", " + arm + ": loss per epoch (dashed: validation)", "epoch", "loss", loss));
  doc.close_grid();
}

void roc_and_confusion(ReportDoc& doc, const std::vector<ArmResult>& arms) {
  doc.open_grid();
  for (const auto& a : arms) {
    const SeedRun* r = first_finished(a);
    if (!r || !r->metrics.at("test").contains("roc")) continue;
    json ds = json::array();
    size_t i = 0;
    for (const auto& c : r->metrics.at("test").at("roc"))
      ds.push_back(xy_dataset(c.at("name").get<std::string>(), c.at("fpr").get<std::vector<double>>(),
                              c.at("tpr").get<std::vector<double>>(), i++));
    ds.push_back(xy_dataset("chance", {0, 1}, {0, 1}, 7, true));
    doc.chart(line_chart("ROC (test), " + a.arm->label + ", seed " + std::to_string(r->seed),
                         "false positive rate", "true positive rate", ds),
              "", 300);
  }
  doc.close_grid();
  for (const auto& a : arms) {
    const SeedRun* r = first_finished(a);
    if (!r || !r->metrics.at("test").contains("confusion")) continue;
    const auto m = r->metrics.at("test").at("confusion").get<std::vector<std::vector<int64_t>>>();
    const std::string flag = r->metrics.value("dataset", "");
    const auto* info = flag.empty() ? nullptr : &data::find_dataset(flag);
    Table t{{"true \\ predicted"}, {}, {}};
    for (size_t k = 0; k < m.size(); ++k) t.header.push_back(info ? info->labels.at(k) : std::to_string(k));
    for (size_t k = 0; k < m.size(); ++k) {
      std::vector<std::string> row{info ? info->labels.at(k) : std::to_string(k)};
      for (int64_t v : m[k]) row.push_back(std::to_string(v));
      t.add(row);
    }
    doc.open_details("Confusion matrix (test), " + a.arm->label + ", seed " + std::to_string(r->seed));
    doc.table(t);
    doc.close_details();
  }
}

void gradient_flow(ReportDoc& doc, const ExperimentSpec& e, const std::string& dir) {
  json ds = json::array();
  size_t colour = 0;
  for (const auto& name : e.gradient_flow) {
    const ArmSpec& arm = find_arm(e, name);
    const std::string csv = run::RunFiles(run_dir(dir, arm.name, e.seeds.front())).grad_norms();
    if (!fs::exists(csv)) {
      doc.gap("gradient norms of " + arm.label + " missing (" + csv + ")");
      continue;
    }
    const run::GradNorms g = run::read_grad_norms(csv, 1);
    std::vector<double> x, y;
    for (size_t d = 0; d < g.norms.size(); ++d) {
      x.push_back(static_cast<double>(d + 1));
      y.push_back(g.norms[d] > 0 ? g.norms[d] : std::nan(""));  // a log axis has no 0
    }
    ds.push_back(xy_dataset(arm.label, x, y, colour++));
  }
  if (ds.empty()) return;
  doc.chart(line_chart(e.name + ": gradient norm per weight layer, epoch 1 (mean over steps)",
                       "depth (weight layer, input to output)", "gradient norm (log scale)", ds, true),
            e.name + "/gradient_flow.png");
}

void conclusions(ReportDoc& doc, const std::vector<ArmResult>& arms, const json& summary,
                 const std::vector<std::string>& flags) {
  if (summary.contains("comparisons")) {
    for (const auto& c : summary.at("comparisons")) doc.conclusion(c.at("conclusion").get<std::string>());
  }
  for (const auto& a : arms) {
    const SeedRun* r = first_finished(a);
    if (!r) continue;
    const json& t = r->metrics.at("test");
    if (!t.contains("ci95")) continue;
    const metrics::Interval ci = run::interval_at(t.at("ci95"), "auc");
    const double lo = ci.lo, hi = ci.hi;
    const std::string flag = r->metrics.value("dataset", "");
    if (std::find(flags.begin(), flags.end(), flag) == flags.end()) continue;
    const auto top = report::best_medmnist_v2_row(flag);
    if (!top) continue;
    const report::BenchmarkRow& best = *top;
    const std::string where = best.auc < lo ? "below the interval: this run ranks the test set better"
                              : best.auc > hi
                                  ? "above the interval: the published model ranks it better"
                                  : "inside the interval: not distinguishable from it on this test set";
    doc.conclusion(a.arm->label + " (seed " + std::to_string(r->seed) + "): test AUC " +
                   core::format_fixed(core::number_at(t, "auc")) + " (95% interval " +
                   core::format_fixed(lo) + " to " + core::format_fixed(hi) + "), ACC " +
                   value_with_interval(t, "acc") + "; the best published MedMNIST v2 AUC, " +
                   core::format_fixed(best.auc) + " (" + best.method + "), is " + where + ".");
  }
}

}  // namespace

std::string value_with_interval(const json& split, const char* key) {
  return metrics::format_with_interval(core::number_at(split, key),
                                       run::interval_at(split.value("ci95", json::object()), key));
}

void report_train_stage(ReportDoc& doc, const StageSpec& s, const std::string& out) {
  const std::string dir = out + "/" + s.name;
  const std::string file = dir + "/study_stage.json";
  if (!fs::exists(file)) return doc.gap(s.name + ": not run yet (" + file + " is missing)");
  const ExperimentSpec e = experiment_from_json(core::read_json_file(file, "stage file", true));
  doc.heading(2, s.name + ": " + e.name, s.name);
  if (!e.description.empty()) doc.text(e.description);
  const std::vector<ArmResult> arms = collect_results(e, dir);
  json summary = json::object();
  try {
    if (fs::exists(dir + "/summary.json"))
      summary = core::read_json_file(dir + "/summary.json", "summary", true);
  } catch (const Error& ex) {
    doc.gap(ex.what());
  }
  doc.open_details("Settings of the " + std::to_string(arms.size()) + " arm" + (arms.size() == 1 ? "" : "s") +
                   " (model, epochs, optimizer, augmentation, seeds)");
  settings(doc, e, arms);
  doc.close_details();
  doc.heading(3, "Test scores of the checkpoint chosen on validation, beside MedMNIST v2");
  std::vector<std::string> flags;
  scores(doc, arms, flags);
  doc.heading(3, "Learning curves");
  curves(doc, arms, s.name);
  doc.heading(3, "ROC curves and confusion matrices");
  roc_and_confusion(doc, arms);
  if (summary.contains("comparisons") && !summary.at("comparisons").empty()) {
    doc.heading(3, "Comparisons (paired bootstrap over the same test images)");
    Table t{{"a", "b", "test AUC change", "95% interval", "test ACC change", "95% interval"}, {}, {}};
    for (const auto& c : summary.at("comparisons")) {
      if (c.contains("missing")) {
        t.add({c.at("a").get<std::string>(), c.at("b").get<std::string>(), c.at("missing").get<std::string>(),
               "", "", ""},
              true);
        continue;
      }
      auto ci = [](const json& v) {
        return core::format_signed(v.at(0).is_number() ? v.at(0).get<double>() : NAN) + " to " +
               core::format_signed(v.at(1).is_number() ? v.at(1).get<double>() : NAN);
      };
      t.add({c.at("a").get<std::string>(), c.at("b").get<std::string>(),
             core::format_signed(core::number_at(c, "auc_diff")), ci(c.at("auc_diff_ci95")),
             core::format_signed(core::number_at(c, "acc_diff")), ci(c.at("acc_diff_ci95"))});
    }
    doc.table(t);
  }
  if (!e.gradient_flow.empty()) {
    doc.heading(3, "Gradient flow");
    gradient_flow(doc, e, dir);
  }
  doc.heading(3, "Conclusion");
  conclusions(doc, arms, summary, flags);
}

}  // namespace mednet::experiments
