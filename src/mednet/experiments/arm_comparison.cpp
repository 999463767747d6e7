#include "mednet/experiments/arm_comparison.h"

#include <filesystem>
#include <map>
#include <sstream>

#include "mednet/core/error.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/data/dataset.h"
#include "mednet/run/split_results.h"

namespace mednet::experiments {

using nlohmann::json;

namespace {

const ArmResult& arm_named(const std::vector<ArmResult>& arms, const std::string& name) {
  for (const auto& a : arms)
    if (a.arm->name == name) return a;
  MN_CHECK(false, "no arm named '", name, "'");
  return arms.front();
}

std::vector<at::Tensor> test_probs(const ArmResult& a) {
  std::vector<at::Tensor> out;
  for (const auto& r : a.runs) {
    if (r.finished) out.push_back(run::read_split_probs(r.dir, r.metrics, "test"));
  }
  return out;
}

// The data file a finished run of the arm was scored on, when it still exists; else "".
std::string scored_file(const ArmResult& a) {
  for (const auto& r : a.runs) {
    if (!r.finished) continue;
    const std::string f = r.metrics.value("data_file", "");
    std::error_code ec;
    if (!f.empty() && std::filesystem::is_regular_file(f, ec)) return f;
  }
  return "";
}

}  // namespace

// The test labels of each arm's dataset file, each file read once.
class TestLabels {
 public:
  const at::Tensor& of(const ArmResult& a) {
    const run::TrainConfig& cfg = a.config;
    const std::string key = cfg.dataset + "@" + std::to_string(cfg.size);
    if (!labels_.count(key)) {
      // The file the runs were scored on (metrics.json names it), so the study's --root needs no repeating.
      const std::string scored = scored_file(a);
      const data::DatasetInfo& info = data::find_dataset(cfg.dataset);
      const data::MedMnist d =
          scored.empty() ? data::open_medmnist(info, cfg.size, cfg.root, nullptr, /*check_md5=*/false)
                         : data::load_medmnist(info, cfg.size, scored);
      labels_[key] = d.test.labels;
    }
    return labels_[key];
  }

 private:
  std::map<std::string, at::Tensor> labels_;
};

std::vector<ArmComparison> compare_arms(const ExperimentSpec& e, const std::vector<ArmResult>& arms) {
  TestLabels labels;
  std::vector<ArmComparison> out;
  for (const auto& spec : e.comparisons) {
    ArmComparison c;
    c.a = &arm_named(arms, spec.a);
    c.b = &arm_named(arms, spec.b);
    try {
      const std::vector<at::Tensor> pa = test_probs(*c.a), pb = test_probs(*c.b);
      c.seeds_a = pa.size();
      c.seeds_b = pb.size();
      MN_CHECK(!pa.empty() && !pb.empty(), "no finished runs in arm '", pa.empty() ? spec.a : spec.b, "'");
      const at::Tensor& y = labels.of(*c.a);
      c.test_samples = y.size(0);
      metrics::BootstrapOptions o;
      o.seed = run::kBootstrapSeed;
      c.diff = metrics::paired_bootstrap(data::find_dataset(c.a->config.dataset).task, y, pa, pb, o);
    } catch (const Error& ex) {
      c.missing = ex.what();
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::optional<metrics::ScoreIntervals>> arm_intervals(const std::vector<ArmResult>& arms) {
  TestLabels labels;
  std::vector<std::optional<metrics::ScoreIntervals>> out;
  for (const auto& a : arms) {
    out.emplace_back();
    try {
      const std::vector<at::Tensor> p = test_probs(a);
      if (p.empty()) continue;
      metrics::BootstrapOptions o;
      o.seed = run::kBootstrapSeed;
      const metrics::PairedDifference d =
          metrics::paired_bootstrap(data::find_dataset(a.config.dataset).task, labels.of(a), p, {}, o);
      out.back() = metrics::ScoreIntervals{d.auc_ci, d.acc_ci, d.resamples, d.undefined_auc};
    } catch (const Error&) {
      // no interval for an arm whose result files or data cannot be read; its comparisons say why
    }
  }
  return out;
}

std::string conclusion(const ArmComparison& c) {
  const std::string head = c.a->arm->label + " against " + c.b->arm->label;
  if (!c.missing.empty()) return head + ": not computed (" + c.missing + ").";
  const auto& d = c.diff;
  std::string verdict;
  if (d.auc_indistinguishable() && d.acc_indistinguishable()) {
    verdict = "not distinguishable at this test-set size (" + std::to_string(c.test_samples) + " images)";
  } else {
    // Each score whose interval excludes 0 is named; the other one did not tell the arms apart.
    if (!d.auc_indistinguishable())
      verdict = std::string("the AUC interval excludes 0: ") + c.a->arm->label +
                (d.auc > 0 ? " ranks the test images better" : " ranks the test images worse");
    if (!d.acc_indistinguishable())
      verdict += std::string(verdict.empty() ? "" : "; ") +
                 "the ACC interval excludes 0: " + c.a->arm->label +
                 (d.acc > 0 ? " labels more test images correctly" : " labels fewer test images correctly");
    if (d.auc_indistinguishable()) verdict += " (AUC not distinguishable)";
    if (d.acc_indistinguishable()) verdict += " (ACC not distinguishable)";
  }
  std::string seeds = "mean of " + std::to_string(c.seeds_a) + " and " + std::to_string(c.seeds_b) + " seeds";
  if (c.seeds_a == 1 && c.seeds_b == 1) seeds = "one seed each";
  return head + ": test AUC " + core::format_signed(d.auc) + " (95% interval " +
         metrics::format_interval(d.auc_ci, true) + "), ACC " + core::format_signed(d.acc) + " (" +
         metrics::format_interval(d.acc_ci, true) + "), " + seeds + "; " + verdict + ".";
}

json comparisons_json(const std::vector<ArmComparison>& cs) {
  const auto num = core::finite_or_null;
  json out = json::array();
  for (const auto& c : cs) {
    json j{{"a", c.a->arm->name}, {"b", c.b->arm->name}, {"conclusion", conclusion(c)}};
    if (!c.missing.empty()) {
      j["missing"] = c.missing;
    } else {
      j.update(
          {{"seeds_a", c.seeds_a},
           {"seeds_b", c.seeds_b},
           {"test_samples", c.test_samples},
           {"auc_diff", num(c.diff.auc)},
           {"auc_diff_ci95", {num(c.diff.auc_ci.lo), num(c.diff.auc_ci.hi)}},
           {"acc_diff", num(c.diff.acc)},
           {"acc_diff_ci95", {num(c.diff.acc_ci.lo), num(c.diff.acc_ci.hi)}},
           {"resamples", c.diff.resamples},
           {"undefined_auc_resamples", c.diff.undefined_auc},
           {"method", "paired percentile bootstrap over the test images, same resamples for both arms"}});
    }
    out.push_back(j);
  }
  return out;
}

std::string comparisons_markdown(const std::vector<ArmComparison>& cs) {
  if (cs.empty()) return "";
  std::ostringstream os;
  os << "\nComparisons (a minus b; each arm the mean over its finished seeds; paired bootstrap over the same "
        "test images, 1000 resamples, 95% percentile intervals):\n\n"
     << "| a | b | test AUC change | 95% interval | test ACC change | 95% interval "
        "|\n|---|---|---|---|---|---|\n";
  for (const auto& c : cs) {
    os << "| " << c.a->arm->label << " | " << c.b->arm->label << " | ";
    if (!c.missing.empty()) {
      os << "not computed | | | |\n";
      continue;
    }
    os << core::format_signed(c.diff.auc) << " | " << metrics::format_interval(c.diff.auc_ci, true) << " | "
       << core::format_signed(c.diff.acc) << " | " << metrics::format_interval(c.diff.acc_ci, true) << " |\n";
  }
  os << "\n";
  for (const auto& c : cs) os << "- " << conclusion(c) << "\n";
  return os.str();
}

}  // namespace mednet::experiments
