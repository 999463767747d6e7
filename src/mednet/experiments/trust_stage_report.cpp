// The report section of a trust stage, "How far can these models be trusted?": per run, calibration before
// and after temperature scaling with intervals, the conformal sets' coverage and size, the
// out-of-distribution scores' AUROC against each set, the reliability diagrams, and conclusions written
// from those numbers.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/experiments/stage_sections.h"
#include "mednet/run/metrics_file.h"
#include "mednet/trust/conformal.h"
#include "mednet/trust/ood.h"
#include "mednet/trust/ood_file.h"

namespace mednet::experiments {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string f3(double v) {
  return core::format_fixed(v, 3);
}
std::string pct(double v) {
  return core::format_fixed(100 * v, 1) + "%";
}

// "0.068 (0.048 to 0.117)" from a trust.json calibration entry.
std::string with_ci(const json& scores, const char* key) {
  return metrics::format_with_interval(core::number_at(scores, key),
                                       run::interval_at(scores.value("ci95", json::object()), key), 4);
}

data::Task task_of(const json& run) {
  return data::parse_task(run.at("trust").value("task", data::task_name(data::Task::MultiClass)),
                          run.value("run", "?") + "/trust.json");
}

void add_once(std::vector<std::string>& words, const std::string& w) {
  if (std::find(words.begin(), words.end(), w) == words.end()) words.push_back(w);
}

// What the runs predict, in words: the one task's noun when they share it ("grade"), else each noun.
std::string noun_of(const json& runs) {
  std::vector<std::string> nouns;
  for (const auto& r : runs) add_once(nouns, data::output_noun(task_of(r)));
  if (nouns.size() < 2) return nouns.empty() ? "class" : nouns[0];
  const std::string last = nouns.back();
  nouns.pop_back();
  return core::join(nouns, ", ") + " or " + last;
}

void calibration_section(ReportDoc& doc, const json& runs) {
  Table t{{"run", "T", "test ECE as trained (95% interval)", "test ECE temperature-scaled",
           "Brier before -> after", "NLL before -> after", "ACC unchanged"},
          {},
          {}};
  std::vector<std::string> raised;
  int lowered = 0, same_acc = 0;
  for (const auto& r : runs) {
    const json& x = r.at("trust");
    const json& test = x.at("test");
    const double before = core::number_at(test["before"], "ece"),
                 after = core::number_at(test["after"], "ece");
    const bool acc_same = test.value("acc_before", -1.0) == test.value("acc_after", -2.0);
    lowered += after < before;
    same_acc += acc_same;
    if (!(after < before))
      raised.push_back(r.value("run", "?") + " (" + f3(before) + " -> " + f3(after) + ")");
    t.add(
        {r.value("run", "?"), core::format_fixed(core::number_at(x, "temperature"), 3),
         with_ci(test["before"], "ece"), with_ci(test["after"], "ece"),
         f3(core::number_at(test["before"], "brier")) + " -> " + f3(core::number_at(test["after"], "brier")),
         f3(core::number_at(test["before"], "nll")) + " -> " + f3(core::number_at(test["after"], "nll")),
         acc_same ? "yes" : "no"});
  }
  doc.table(t);
  const std::string n = std::to_string(runs.size());
  int sharpened = 0;
  for (const auto& r : runs) sharpened += core::number_at(r.at("trust"), "temperature") < 1;
  doc.conclusion(
      "Temperature scaling (one T fitted on validation) lowered test ECE for " + std::to_string(lowered) +
      " of " + n + " runs" +
      (raised.empty() ? "."
                      : "; it did not for " + core::join(raised, ", ") +
                            ": there the temperature that was best on validation did not carry over to "
                            "test, and the intervals show how uncertain ECE is on splits of this size.") +
      " T was below 1 in " + std::to_string(sharpened) + " of " + n +
      " runs: those models were less confident on validation than they were right, and the temperature "
      "sharpened them.");
  doc.conclusion("The predicted " + noun_of(runs) +
                 " never changes under a temperature: test ACC before and after is identical "
                 "in " +
                 std::to_string(same_acc) + " of " + n + " runs.");
}

void conformal_section(ReportDoc& doc, const json& runs, double coverage) {
  Table t{{"run", "test coverage", "mean set size",
           noun_of(runs) + " covered worst: covered of its test images", "threshold"},
          {},
          {}};
  double lo = 2, hi = -1;
  std::string lo_run, hi_run, worst_text;
  double worst = 2;
  std::vector<std::string> truths, counted;  // each distinct wording once
  for (const auto& r : runs) {
    const trust::CoverageWords words = trust::coverage_words(task_of(r));
    add_once(truths, words.truth);
    add_once(counted, words.counted);
    const json& sets = r.at("trust").at("test_sets");
    const double c = core::number_at(sets, "coverage");
    std::string worst_here = "n/a";
    double worst_cov = 2;
    for (const auto& k : sets.value("per_class", json::array())) {
      if (!k["coverage"].is_number() || k["coverage"].get<double>() >= worst_cov) continue;
      worst_cov = k["coverage"].get<double>();
      worst_here =
          k.value("class", "?") + ": " + pct(worst_cov) + " of " + std::to_string(k.value("count", 0));
    }
    if (worst_cov < worst) {
      worst = worst_cov;
      worst_text =
          data::output_noun(task_of(r)) + " " + worst_here + " test images of " + r.value("run", "?");
    }
    if (c < lo) lo = c, lo_run = r.value("run", "?");
    if (c > hi) hi = c, hi_run = r.value("run", "?");
    const json& th = r.at("trust").at("conformal");
    std::string thresholds;
    if (th.contains("thresholds") && th["thresholds"].is_array())
      for (const auto& v : th["thresholds"])
        thresholds +=
            (thresholds.empty() ? "" : ", ") + (v.is_number() ? f3(v.get<double>()) : std::string("n/a"));
    t.add({r.value("run", "?"), pct(c), core::format_fixed(core::number_at(sets, "mean_size"), 2), worst_here,
           th.value("method", "") + " " + thresholds});
  }
  doc.table(t);
  if (runs.empty()) return;
  const std::string noun = noun_of(runs);
  doc.conclusion(core::format_fixed(100 * coverage, 0) + "% conformal sets, calibrated on validation, held " +
                 core::join(truths, " or ") + " for between " + pct(lo) + " (" + lo_run + ") and " + pct(hi) +
                 " (" + hi_run + ") of test " + core::join(counted, " or ") +
                 ". The guarantee is on average over images; it is weakest for " + worst_text +
                 ", so the sets of that " + (noun.find(" or ") == std::string::npos ? noun : "kind") +
                 " are the ones to read with care.");
}

void ood_section(ReportDoc& doc, const json& runs) {
  std::vector<std::string> set_names;
  for (const auto& r : runs)
    for (const auto& s : r.at("trust").value("ood", json::object()).value("sets", json::array()))
      if (std::find(set_names.begin(), set_names.end(), s.value("set", "")) == set_names.end())
        set_names.push_back(s.value("set", ""));
  Table means{
      {"run", "MSP mean AUROC", "energy mean AUROC", "Mahalanobis mean AUROC", "own test flagged"}, {}, {}};
  std::vector<std::string> header = {"run"};
  for (const auto& n : set_names) header.push_back(n);
  Table per_set{header, {}, {}};
  const std::string chosen = trust::kDefaultOodScore;
  std::map<std::string, int> best_count;
  std::map<std::string, double> sum;
  int counted = 0;
  for (const auto& r : runs) {
    const json ood = r.at("trust").value("ood", json());
    if (!ood.is_object()) continue;
    ++counted;
    std::string best;
    for (const char* s : trust::kOodScores) {
      const double m = core::number_at(ood["mean_auroc"], s);
      sum[s] += m;
      if (best.empty() || m > core::number_at(ood["mean_auroc"], best.c_str())) best = s;
    }
    ++best_count[best];
    means.add({r.value("run", "?"), f3(core::number_at(ood["mean_auroc"], "msp")),
               f3(core::number_at(ood["mean_auroc"], "energy")),
               f3(core::number_at(ood["mean_auroc"], "mahalanobis")),
               pct(core::number_at(ood["test_flagged"], chosen.c_str()))});
    std::vector<std::string> row = {r.value("run", "?")};
    for (const auto& n : set_names) {
      std::string cell;
      for (const auto& s : ood.value("sets", json::array()))
        if (s.value("set", "") == n)
          cell = f3(core::number_at(s["scores"][chosen], "auroc")) + " (" +
                 pct(core::number_at(s["scores"][chosen], "flagged")) + ")";
      row.push_back(cell);
    }
    per_set.add(row);
  }
  doc.table(means);
  doc.text("The " + chosen +
           " score (mednet predict's default) against each set: AUROC of telling the run's test "
           "split from the set, and in brackets the share of the set flagged by the threshold chosen on "
           "validation. "
           "A run is not tested against its own dataset.");
  doc.table(per_set);
  if (counted == 0) return;
  std::vector<std::string> parts;
  for (const char* s : trust::kOodScores)
    parts.push_back(std::string(s) + " " + f3(sum[s] / counted) + " (best in " +
                    std::to_string(best_count[s]) + ")");
  doc.conclusion(
      "Mean AUROC over the sets, averaged over the " + std::to_string(counted) +
      " runs: " + core::join(parts, ", ") +
      ". A score below 0.5 ranks the foreign inputs as more typical than the "
      "test split: a model's confidence is no sign that an input is of the kind it was trained on.");
}

}  // namespace

void report_trust_stage(ReportDoc& doc, const StageSpec& s, const std::string& out) {
  const std::string dir = out + "/" + s.name;
  const json j = open_section(doc, s, dir + "/summary.json");
  if (j.is_null()) return;
  const json runs = j.value("runs", json::array());
  if (runs.empty()) {
    doc.gap(s.name + ": no finished run to check");
    return;
  }
  doc.heading(3, "Calibration on test, before and after temperature scaling");
  calibration_section(doc, runs);
  doc.heading(3, "Conformal prediction sets");
  conformal_section(doc, runs, j.value("coverage", 0.9));
  doc.heading(3, "Out-of-distribution flags");
  ood_section(doc, runs);
  doc.heading(3, "Reliability diagrams (test split)");
  doc.open_grid();
  for (const auto& r : runs) {
    const std::string rel = r.value("run", "") + "/reliability.png";
    if (fs::exists(out + "/" + rel)) doc.image(out + "/" + rel, rel, r.value("run", ""), 440);
  }
  doc.close_grid();
}

}  // namespace mednet::experiments
