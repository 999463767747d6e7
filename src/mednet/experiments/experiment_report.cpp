#include "mednet/experiments/experiment_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/data/catalog.h"
#include "mednet/experiments/arm_comparison.h"
#include "mednet/experiments/robustness_experiment.h"
#include "mednet/report/benchmarks.h"
#include "mednet/report/plot.h"
#include "mednet/run/metrics_file.h"
#include "mednet/run/run_files.h"
#include "mednet/run/state.h"

namespace mednet::experiments {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::vector<uint32_t> kColors{0x1f77b4, 0xd62728, 0x2ca02c, 0xff7f0e, 0x9467bd, 0x8c564b, 0xe377c2};

std::string f1(double v) {
  return core::format_fixed(v, 1);
}

std::string mean_sd_text(const std::vector<double>& v) {
  const auto [m, sd] = mean_sd(v);
  if (v.empty()) return "n/a";
  return core::format_fixed(m) + (std::isfinite(sd) ? " (" + core::format_fixed(sd) + ")" : "");
}

// Train AUC minus validation AUC at the chosen epoch: how far the model fits train beyond val.
double gap_at_best(const SeedRun& r) {
  const int best = static_cast<int>(core::number_at(r.metrics, "best_epoch"));
  for (const auto& e : r.history)
    if (e.epoch == best) return e.train_auc - e.val_auc;
  return std::nan("");
}

struct ArmStats {
  std::vector<double> auc, acc, val_auc, val_acc, best, epochs, sec, gap, stability, epochs95, seconds95;
};

ArmStats stats_of(const ArmResult& a) {
  ArmStats s;
  for (const auto& r : a.runs) {
    if (!r.finished) continue;
    s.auc.push_back(core::number_at(r.metrics, "test", "auc"));
    s.acc.push_back(core::number_at(r.metrics, "test", "acc"));
    s.val_auc.push_back(core::number_at(r.metrics, "val", "auc"));
    s.val_acc.push_back(core::number_at(r.metrics, "val", "acc"));
    s.best.push_back(core::number_at(r.metrics, "best_epoch"));
    s.epochs.push_back(core::number_at(r.metrics, "epochs_run"));
    s.sec.push_back(core::number_at(r.metrics, "seconds_per_epoch"));
    s.gap.push_back(gap_at_best(r));
    const Dynamics d = training_dynamics(r.history);
    s.stability.push_back(d.val_auc_sd_last);
    s.epochs95.push_back(d.epochs_to_fraction);
    s.seconds95.push_back(d.seconds_to_fraction);
  }
  return s;
}

// The arm the searches' rule chooses: the highest mean validation AUC, then the highest mean validation ACC,
// among arms whose every seed finished; null when none has.
const ArmResult* chosen_by_validation(const std::vector<ArmResult>& arms) {
  const ArmResult* best = nullptr;
  double best_auc = 0, best_acc = 0;
  for (const auto& a : arms) {
    const ArmStats s = stats_of(a);
    if (s.val_auc.empty() || s.val_auc.size() != a.runs.size()) continue;
    const double auc = mean_sd(s.val_auc).first, acc = mean_sd(s.val_acc).first;
    if (!std::isfinite(auc)) continue;
    if (!best || auc > best_auc || (auc == best_auc && acc > best_acc)) {
      best = &a;
      best_auc = auc;
      best_acc = acc;
    }
  }
  return best;
}

std::string backbone_of(const ArmResult& a) {
  std::string out;
  for (const auto& r : a.runs) {
    if (!r.finished) continue;
    const std::string b = r.metrics.value("backbone", "random-init");
    if (out.find(b) == std::string::npos) out += (out.empty() ? "" : ", ") + b;
  }
  return out.empty() ? "n/a" : out;
}

}  // namespace

Dynamics training_dynamics(const std::vector<run::EpochRecord>& history, double fraction, int last) {
  Dynamics d;
  if (history.empty()) return d;
  double best = -1;
  for (const auto& r : history)
    if (std::isfinite(r.val_auc)) best = std::max(best, r.val_auc);
  double seconds = 0;
  for (const auto& r : history) {
    seconds += r.seconds;
    if (std::isfinite(r.val_auc) && r.val_auc >= fraction * best) {
      d.epochs_to_fraction = r.epoch;
      d.seconds_to_fraction = seconds;
      break;
    }
  }
  std::vector<double> tail;
  for (size_t i = history.size() > static_cast<size_t>(last) ? history.size() - last : 0; i < history.size();
       ++i)
    tail.push_back(history[i].val_auc);
  d.val_auc_sd_last = mean_sd(tail).second;
  return d;
}

std::pair<double, double> mean_sd(const std::vector<double>& v) {
  if (v.empty()) return {std::nan(""), std::nan("")};
  double m = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  if (v.size() < 2) return {m, std::nan("")};
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return {m, std::sqrt(ss / static_cast<double>(v.size() - 1))};
}

std::vector<ArmResult> collect_results(const ExperimentSpec& e, const std::string& out) {
  std::vector<ArmResult> arms;
  for (const auto& arm : e.arms) {
    ArmResult a;
    a.arm = &arm;
    a.config = arm_config(e, arm, e.seeds.front());
    for (uint64_t seed : e.seeds) {
      SeedRun r;
      r.seed = seed;
      r.dir = run_dir(out, arm.name, seed);
      const run::RunFiles files(r.dir);
      try {
        if (fs::exists(files.metrics())) {
          r.metrics = run::read_metrics_json(files.metrics());
          r.finished = run::metrics_finished(r.metrics);
        }
        r.history = run::read_history(files);
      } catch (const Error& ex) {
        r.metrics = json::object();
        r.finished = false;
        r.problem = ex.what();
      }
      a.runs.push_back(std::move(r));
    }
    const run::RunFiles ens(ensemble_dir(out, arm.name));
    if (fs::exists(ens.metrics())) {
      try {
        a.ensemble = run::read_metrics_json(ens.metrics());
      } catch (const Error&) {
        a.ensemble = nullptr;  // a damaged file: the report goes on without it
      }
    }
    arms.push_back(std::move(a));
  }
  return arms;
}

json summary_json(const ExperimentSpec& e, const std::vector<ArmResult>& arms) {
  json j{{"experiment", e.name}, {"description", e.description}, {"seeds", e.seeds}, {"arms", json::array()}};
  const ArmResult* chosen = chosen_by_validation(arms);
  j["chosen_by_validation"] = chosen ? json(chosen->arm->name) : json(nullptr);
  const auto num = core::finite_or_null;
  for (const auto& a : arms) {
    const ArmStats s = stats_of(a);
    json runs = json::array();
    for (const auto& r : a.runs) {
      runs.push_back({{"seed", r.seed},
                      {"dir", r.dir},
                      {"finished", r.finished},
                      {"best_epoch", num(core::number_at(r.metrics, "best_epoch"))},
                      {"epochs_run", num(core::number_at(r.metrics, "epochs_run"))},
                      {"val_auc", num(core::number_at(r.metrics, "val", "auc"))},
                      {"test_auc", num(core::number_at(r.metrics, "test", "auc"))},
                      {"test_acc", num(core::number_at(r.metrics, "test", "acc"))},
                      {"train_val_auc_gap", num(r.finished ? gap_at_best(r) : std::nan(""))},
                      {"seconds_per_epoch", num(core::number_at(r.metrics, "seconds_per_epoch"))}});
    }
    const auto [auc_m, auc_sd] = mean_sd(s.auc);
    const auto [acc_m, acc_sd] = mean_sd(s.acc);
    double params = std::nan("");
    for (const auto& r : a.runs)
      if (r.finished) params = core::number_at(r.metrics, "params");
    j["arms"].push_back({{"name", a.arm->name},
                         {"label", a.arm->label},
                         {"dataset", a.config.dataset},
                         {"model", a.config.model.name},
                         {"augment", !a.config.augment.empty()},
                         {"params", num(params)},
                         {"seeds_finished", s.auc.size()},
                         {"val_auc_mean", num(mean_sd(s.val_auc).first)},
                         {"val_acc_mean", num(mean_sd(s.val_acc).first)},
                         {"test_auc_mean", num(auc_m)},
                         {"test_auc_sd", num(auc_sd)},
                         {"test_acc_mean", num(acc_m)},
                         {"test_acc_sd", num(acc_sd)},
                         {"best_epoch_mean", num(mean_sd(s.best).first)},
                         {"train_val_auc_gap_mean", num(mean_sd(s.gap).first)},
                         {"seconds_per_epoch_mean", num(mean_sd(s.sec).first)},
                         {"val_auc_sd_last5_mean", num(mean_sd(s.stability).first)},
                         {"epochs_to_95pct_best_val_auc_mean", num(mean_sd(s.epochs95).first)},
                         {"seconds_to_95pct_best_val_auc_mean", num(mean_sd(s.seconds95).first)},
                         {"backbone", backbone_of(a)},
                         {"runs", runs}});
    if (a.ensemble.is_object()) {
      j["arms"].back()["ensemble"] = {{"val_auc", num(core::number_at(a.ensemble, "val", "auc"))},
                                      {"val_acc", num(core::number_at(a.ensemble, "val", "acc"))},
                                      {"test_auc", num(core::number_at(a.ensemble, "test", "auc"))},
                                      {"test_acc", num(core::number_at(a.ensemble, "test", "acc"))}};
    }
  }
  return j;
}

std::string summary_markdown(const ExperimentSpec& e, const std::vector<ArmResult>& arms) {
  std::ostringstream os;
  os << "# " << e.name << "\n\n";
  if (!e.description.empty()) os << e.description << "\n\n";
  os << "Validation and test AUC and ACC of the checkpoint chosen on validation: mean (sample sd for test) "
        "over the finished seeds; validation chooses between arms, test reports them. Gap: train AUC minus "
        "validation AUC at that epoch.\n\n";
  os << "| arm | dataset | model | params | seeds | val AUC | val ACC | test AUC | test ACC | best epoch | "
        "epochs run | gap | s/epoch |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& a : arms) {
    const ArmStats s = stats_of(a);
    double params = std::nan("");
    for (const auto& r : a.runs)
      if (r.finished) params = core::number_at(r.metrics, "params");
    os << "| " << a.arm->label << " | " << a.config.dataset << " " << a.config.size << " | "
       << a.config.model.name << " | "
       << (std::isfinite(params) ? std::to_string(static_cast<int64_t>(params)) : "n/a") << " | "
       << s.auc.size() << "/" << a.runs.size() << " | " << core::format_fixed(mean_sd(s.val_auc).first, 4)
       << " | " << core::format_fixed(mean_sd(s.val_acc).first, 4) << " | " << mean_sd_text(s.auc) << " | "
       << mean_sd_text(s.acc) << " | " << f1(mean_sd(s.best).first) << " | " << f1(mean_sd(s.epochs).first)
       << " | " << core::format_fixed(mean_sd(s.gap).first) << " | " << f1(mean_sd(s.sec).first) << " |\n";
  }
  if (arms.size() > 1) {
    if (const ArmResult* c = chosen_by_validation(arms)) {
      const ArmStats s = stats_of(*c);
      os << "\nValidation chooses **" << c->arm->label << "**: the highest mean validation AUC ("
         << core::format_fixed(mean_sd(s.val_auc).first, 4) << "), then ACC ("
         << core::format_fixed(mean_sd(s.val_acc).first, 4) << "), among arms with every seed finished.\n";
    }
  }
  os << "\nPer seed (test AUC / ACC):\n\n| seed |";
  for (const auto& a : arms) os << " " << a.arm->label << " |";
  const bool two = arms.size() == 2;
  if (two) os << " AUC change | ACC change |";
  os << "\n|---|";
  for (size_t i = 0; i < arms.size() + (two ? 2 : 0); ++i) os << "---|";
  os << "\n";
  for (size_t k = 0; k < e.seeds.size(); ++k) {
    os << "| " << e.seeds[k] << " |";
    for (const auto& a : arms) {
      const SeedRun& r = a.runs[k];
      os << " "
         << (r.finished ? core::format_fixed(core::number_at(r.metrics, "test", "auc")) + " / " +
                              core::format_fixed(core::number_at(r.metrics, "test", "acc"))
                        : std::string("not run"))
         << " |";
    }
    if (two) {
      const SeedRun &r0 = arms[0].runs[k], &r1 = arms[1].runs[k];
      if (r0.finished && r1.finished) {
        const double da =
            core::number_at(r1.metrics, "test", "auc") - core::number_at(r0.metrics, "test", "auc");
        const double dc =
            core::number_at(r1.metrics, "test", "acc") - core::number_at(r0.metrics, "test", "acc");
        os << " " << (da >= 0 ? "+" : "") << core::format_fixed(da) << " | " << (dc >= 0 ? "+" : "")
           << core::format_fixed(dc) << " |";
      } else {
        os << " | |";
      }
    }
    os << "\n";
  }
  if (two) {
    os << "\nChange: " << arms[1].arm->label << " minus " << arms[0].arm->label << ".\n";
  }
  os << "\nTraining dynamics (mean over finished seeds): stability is the sample sd of validation AUC over "
        "the last 5 epochs; convergence is the first epoch, and the training seconds up to its end, at "
        "which validation AUC reached 95% of the run's best.\n\n"
     << "| arm | backbone | trainable params | val AUC sd, last 5 | epochs to 95% | seconds to 95% |\n"
     << "|---|---|---|---|---|---|\n";
  for (const auto& a : arms) {
    const ArmStats s = stats_of(a);
    double trainable = std::nan("");
    for (const auto& r : a.runs)
      if (r.finished && r.metrics.contains("trainable_params"))
        trainable = core::number_at(r.metrics, "trainable_params");
    os << "| " << a.arm->label << " | " << backbone_of(a) << " | "
       << (std::isfinite(trainable) ? std::to_string(static_cast<int64_t>(trainable)) : "n/a") << " | "
       << core::format_fixed(mean_sd(s.stability).first, 4) << " | " << f1(mean_sd(s.epochs95).first) << " | "
       << f1(mean_sd(s.seconds95).first) << " |\n";
  }
  if (std::any_of(arms.begin(), arms.end(), [](const ArmResult& a) { return a.ensemble.is_object(); })) {
    os << "\nEnsemble of the seeds (mean of their probabilities) against the seeds' mean:\n\n"
       << "| arm | seeds' test AUC | ensemble test AUC | seeds' test ACC | ensemble test ACC | ensemble val "
          "AUC / ACC |\n|---|---|---|---|---|---|\n";
    for (const auto& a : arms) {
      if (!a.ensemble.is_object()) continue;
      const ArmStats s = stats_of(a);
      const auto at = [&](const char* split, const char* key) {
        return core::format_fixed(core::number_at(a.ensemble, split, key));
      };
      os << "| " << a.arm->label << " | " << core::format_fixed(mean_sd(s.auc).first) << " | "
         << at("test", "auc") << " | " << core::format_fixed(mean_sd(s.acc).first) << " | "
         << at("test", "acc") << " | " << at("val", "auc") << " / " << at("val", "acc") << " |\n";
    }
  }
  std::vector<std::string> flags;
  for (const auto& a : arms)
    if (std::find(flags.begin(), flags.end(), a.config.dataset) == flags.end())
      flags.push_back(a.config.dataset);
  for (const auto& flag : flags) {
    const auto rows = report::medmnist_v2_rows(flag);
    if (rows.empty()) continue;
    os << "\nMedMNIST v2, " << data::find_dataset(flag).display_name << " (test AUC / ACC): ";
    for (size_t i = 0; i < rows.size(); ++i)
      os << (i ? "; " : "") << rows[i].method << " " << core::format_fixed(rows[i].auc) << " / "
         << core::format_fixed(rows[i].acc);
    os << ".\n";
  }
  return os.str();
}

std::string write_experiment_report(const ExperimentSpec& e, const std::string& out) {
  const auto arms = collect_results(e, out);
  const auto comparisons = compare_arms(e, arms);
  json robustness;
  const std::string md = summary_markdown(e, arms) + comparisons_markdown(comparisons) +
                         robustness_comparison_markdown(e, out, &robustness);
  fs::create_directories(out);
  core::write_file_atomic(out + "/summary.md", md);
  json summary = summary_json(e, arms);
  summary["comparisons"] = comparisons_json(comparisons);
  if (!robustness.is_null()) summary["robustness"] = robustness;
  const auto intervals = arm_intervals(arms);
  for (size_t i = 0; i < arms.size(); ++i) {
    if (!intervals[i]) continue;
    const auto num = core::finite_or_null;
    summary["arms"][i]["test_auc_ci95"] = {num(intervals[i]->auc.lo), num(intervals[i]->auc.hi)};
    summary["arms"][i]["test_acc_ci95"] = {num(intervals[i]->acc.lo), num(intervals[i]->acc.hi)};
  }
  core::write_file_atomic(out + "/summary.json", summary.dump(2) + "\n");
  if (!report::plots_available()) return md;

  report::Panel loss{"Training loss", "epoch", "loss", {}, NAN, ""};
  report::Panel auc{"Validation AUC", "epoch", "AUC", {}, NAN, ""};
  for (size_t i = 0; i < arms.size(); ++i) {
    const uint32_t color = kColors[i % kColors.size()];
    for (size_t k = 0; k < arms[i].runs.size(); ++k) {
      const auto& r = arms[i].runs[k];
      if (r.history.empty()) continue;
      // One legend entry per arm; its seeds share the colour.
      report::Series l =
          report::line_series(k == 0 ? arms[i].arm->label : std::string(), {}, {}, color, false);
      report::Series v = l;
      for (const auto& h : r.history) {
        l.x.push_back(h.epoch);
        l.y.push_back(h.train_loss);
        v.x.push_back(h.epoch);
        v.y.push_back(h.val_auc);
      }
      loss.series.push_back(l);
      auc.series.push_back(v);
    }
  }
  report::save_png({loss, auc}, e.name + ": learning curves, one line per seed", out + "/curves.png", 640,
                   460);

  if (!e.gradient_flow.empty()) {
    report::Panel first{"First training step", "depth (weight layer)", "log10 gradient norm", {}, NAN, ""};
    report::Panel mean{
        "Epoch 1 (mean over steps)", "depth (weight layer)", "log10 gradient norm", {}, NAN, ""};
    for (size_t i = 0; i < e.gradient_flow.size(); ++i) {
      const auto& arm = experiments::find_arm(e, e.gradient_flow[i]);
      const std::string csv = run::RunFiles(run_dir(out, arm.name, e.seeds.front())).grad_norms();
      if (!fs::exists(csv)) continue;
      for (auto [panel, epoch] : {std::pair<report::Panel*, int>{&first, 0}, {&mean, 1}}) {
        const run::GradNorms g = run::read_grad_norms(csv, epoch);
        report::Series s = report::line_series(arm.label, {}, {}, kColors[i % kColors.size()], false);
        for (size_t d = 0; d < g.norms.size(); ++d) {
          s.x.push_back(static_cast<double>(d + 1));
          s.y.push_back(g.norms[d] > 0 ? std::log10(g.norms[d]) : std::nan(""));
        }
        panel->series.push_back(s);
      }
    }
    report::save_png({first, mean}, e.name + ": gradient norm per layer, input (left) to output (right)",
                     out + "/gradient_flow.png", 640, 460);
  }
  return md;
}

}  // namespace mednet::experiments
