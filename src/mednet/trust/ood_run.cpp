#include "mednet/trust/ood_run.h"

#include <cmath>
#include <filesystem>
#include <sstream>

#include <ATen/ATen.h>

#include "mednet/core/error.h"
#include "mednet/core/strings.h"

namespace mednet::trust {

using nlohmann::json;

namespace {

constexpr int kBatch = 256;

double flagged_share(const OodDetector& d, const std::string& score, const at::Tensor& scores) {
  return 1.0 - ood_passes(d, score, scores).to(at::kDouble).mean().item<double>();
}

const char* score_title(const std::string& s) {
  return s == "msp" ? "MSP" : s == "energy" ? "energy" : "Mahalanobis";
}

}  // namespace

OodReport measure_ood(run::OpenRun& r, const c10::Device& device, const OodSetOptions& o,
                      const std::function<void(const std::string&)>& progress) {
  MN_CHECK(r.model && r.info && r.data.train.size() > 1,
           "an out-of-distribution check needs the run's model and data");
  const data::Task task = r.info->task;
  const auto say = [&](const std::string& s) {
    if (progress) progress(s);
  };
  say("out-of-distribution: features of the training, validation and test splits");
  const OodFeatures train = ood_features(*r.model, r.data.train.images, device, kBatch);
  const OodFeatures val = ood_features(*r.model, r.data.val.images, device, kBatch);
  const OodFeatures test = ood_features(*r.model, r.data.test.images, device, kBatch);
  OodReport rep;
  OodDetector& d = rep.detector;
  d.fit = fit_mahalanobis(task, train.features, r.data.train.labels);
  d.fitted_size = val.size();
  std::map<std::string, at::Tensor> test_scores;
  for (const char* s : kOodScores) {
    d.thresholds[s] = pass_threshold(ood_score(task, s, val, d.fit), d.pass_rate);
    test_scores[s] = ood_score(task, s, test, d.fit);
    rep.test_flagged[s] = flagged_share(d, s, test_scores[s]);
  }
  const std::string folder = std::filesystem::path(r.data.path).parent_path().string();
  for (OodSet& set : ood_sets(*r.info, r.config.size, folder.empty() ? "." : folder, o,
                              [&](const std::string& why) { rep.skipped.push_back(why); })) {
    say("out-of-distribution: " + set.name + " (" + std::to_string(set.images.size(0)) + " images)");
    const OodFeatures f = ood_features(*r.model, set.images, device, kBatch);
    OodRow row{set.name, set.source, set.images.size(0), {}, {}};
    for (const char* s : kOodScores) {
      const at::Tensor scores = ood_score(task, s, f, d.fit);
      row.separation[s] = separation(test_scores[s], scores);
      row.flagged[s] = flagged_share(d, s, scores);
    }
    rep.rows.push_back(std::move(row));
  }
  for (const char* s : kOodScores) {
    double sum = 0;
    for (const auto& row : rep.rows) sum += row.separation.at(s).auroc;
    rep.mean_auroc[s] = rep.rows.empty() ? std::nan("") : sum / static_cast<double>(rep.rows.size());
  }

  json rows = json::array();
  for (const auto& row : rep.rows) {
    json by_score = json::object();
    for (const char* s : kOodScores)
      by_score[s] = {{"auroc", row.separation.at(s).auroc},
                     {"fpr95", row.separation.at(s).fpr95},
                     {"flagged", row.flagged.at(s)}};
    rows.push_back({{"set", row.set}, {"source", row.source}, {"images", row.images}, {"scores", by_score}});
  }
  json thresholds = json::object(), test_flagged = json::object(), mean = json::object();
  for (const char* s : kOodScores) {
    thresholds[s] = d.thresholds.at(s);
    test_flagged[s] = rep.test_flagged.at(s);
    mean[s] = std::isfinite(rep.mean_auroc.at(s)) ? json(rep.mean_auroc.at(s)) : json(nullptr);
  }
  rep.summary = {{"pass_rate", d.pass_rate},
                 {"thresholds", thresholds},
                 {"test_flagged", test_flagged},
                 {"sets", rows},
                 {"mean_auroc", mean},
                 {"skipped", rep.skipped},
                 {"default_score", kDefaultOodScore}};

  std::ostringstream md;
  const auto pct = [](double v) { return core::format_fixed(100 * v, 1) + "%"; };
  md << "## Out-of-distribution flags\n\n"
     << "Each score's threshold lets " << pct(d.pass_rate) << " of the validation split (" << val.size()
     << " images) pass; on the test split it flags ";
  std::vector<std::string> parts;
  for (const char* s : kOodScores) parts.push_back(pct(rep.test_flagged.at(s)) + " (" + score_title(s) + ")");
  md << core::join(parts, ", ") << ". AUROC and FPR at 95% TPR tell the test split (" << test.size()
     << " images) from each set; flagged is the share of the set below the threshold.\n\n"
     << "| set | images | MSP AUROC | MSP FPR95 | MSP flagged | energy AUROC | energy FPR95 | energy flagged "
        "| Mahalanobis AUROC | Mahalanobis FPR95 | Mahalanobis flagged |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& row : rep.rows) {
    md << "| " << row.set << " | " << row.images;
    for (const char* s : kOodScores)
      md << " | " << core::format_fixed(row.separation.at(s).auroc, 3) << " | "
         << pct(row.separation.at(s).fpr95) << " | " << pct(row.flagged.at(s));
    md << " |\n";
  }
  md << "| mean AUROC |";
  for (const char* s : kOodScores) md << " | " << core::format_fixed(rep.mean_auroc.at(s), 3) << " | |";
  md << " |\n\nSets: ";
  parts.clear();
  for (const auto& row : rep.rows) parts.push_back(row.set + " (" + row.source + ")");
  md << core::join(parts, "; ") << ".\n";
  for (const auto& s : rep.skipped) md << "\nNot used: " << s << "\n";
  rep.markdown = md.str();
  return rep;
}

}  // namespace mednet::trust
