#include "mednet/run/ensemble.h"

#include <filesystem>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/folder_lock.h"
#include "mednet/core/fs.h"
#include "mednet/run/config.h"
#include "mednet/run/open_run.h"
#include "mednet/run/split_results.h"

namespace mednet::run {

namespace fs = std::filesystem;

namespace {
// Scores probabilities [N, K] against labels as an evaluation does (loss of the probabilities).
engine::Evaluation score_probs(data::Task task, const at::Tensor& labels, const at::Tensor& probs,
                               int batch_size) {
  return engine::evaluate_batches(task, labels, batch_size, [&](int64_t start, int64_t len) {
    return engine::probs_as_logits(task, probs.narrow(0, start, len));
  });
}

nlohmann::json member_json(const EnsembleMember& m) {
  auto split = [](const engine::Evaluation& e) {
    return nlohmann::json{{"auc", e.scores.auc}, {"acc", e.scores.acc}, {"loss", e.loss}};
  };
  return {{"run", m.dir},
          {"model", m.model},
          {"seed", m.seed},
          {"tta", m.tta},
          {"calibration", m.calibration},
          {"val", split(m.val)},
          {"test", split(m.test)}};
}

// The members' common test-time mode, or "mixed" when "own" resolved differently per member.
std::string common_tta(const std::vector<EnsembleMember>& members) {
  for (const auto& m : members)
    if (m.tta != members.front().tta) return "mixed";
  return members.front().tta;
}
}  // namespace

Ensemble ensemble_runs(const std::vector<std::string>& runs, const std::string& out,
                       const EnsembleOptions& o) {
  MN_CHECK_USAGE(o.tta == "none" || o.tta == "flips" || o.tta == "own",
                 "--tta must be none, flips or own, got '", o.tta, "'");
  MN_CHECK_USAGE(runs.size() >= 2, "an ensemble needs at least two runs, got ", runs.size());
  MN_CHECK_USAGE(!fs::exists(RunFiles(out).state()), out,
                 " holds a training run; an ensemble goes into a folder of its own (choose another --out)");
  for (const auto& dir : runs)
    MN_CHECK_USAGE(fs::weakly_canonical(dir) != fs::weakly_canonical(out), "--out ", out,
                   " is one of the runs; an ensemble goes into a folder of its own");
  // Every member's config first: a mismatch is found before anything is scored.
  std::vector<TrainConfig> configs;
  for (const auto& dir : runs) {
    MN_CHECK_USAGE(fs::exists(RunFiles(dir).config()), dir, " is not a run directory (no config.json)");
    configs.push_back(load_config(RunFiles(dir).config()));
    const TrainConfig& c = configs.back();
    const TrainConfig& f = configs.front();
    MN_CHECK_USAGE(c.dataset == f.dataset && c.size == f.size, "run ", dir, " is on ", c.dataset, " ", c.size,
                   " px and run ", runs.front(), " on ", f.dataset, " ", f.size,
                   " px: an ensemble's runs must share dataset and size");
  }
  const core::FolderLock lock = core::FolderLock::acquire(out);  // one writer of the ensemble's folder
  Ensemble ens;
  OpenRunOptions options;
  options.root = o.root;
  options.check_md5 = o.check_md5;
  options.device = o.device;
  options.config = &configs.front();
  OpenRun first = open_run(runs.front(), options);  // its data serves every member
  options.load_data = false;
  const data::Task task = first.info->task;
  const int batch = first.config.eval_batch_size;
  at::Tensor val_sum, test_sum;
  for (size_t i = 0; i < runs.size(); ++i) {
    const TrainConfig& c = configs[i];
    options.config = &c;  // the config read above, not read again
    const models::Classifier model = i == 0 ? first.model : open_run(runs[i], options).model;
    const std::string tta = o.tta == "own" ? c.tta : o.tta;
    const engine::FlipSets views = engine::tta_views(tta, c.augment);
    if (o.progress)
      o.progress("[" + std::to_string(i + 1) + "/" + std::to_string(runs.size()) + "] " + runs[i] + " (" +
                 c.model.name + ", seed " + std::to_string(c.seed) + ")");
    at::Tensor vp = engine::predict(*model, first.data.val.images, task, o.device, batch, views);
    at::Tensor tp = engine::predict(*model, first.data.test.images, task, o.device, batch, views);
    std::string calibration = "none";
    if (o.calibrate) {
      vp = o.calibrate(runs[i], vp, &calibration);
      tp = o.calibrate(runs[i], tp, &calibration);
    }
    ens.members.push_back({runs[i], c.model.name, c.seed, tta, calibration,
                           score_probs(task, first.data.val.labels, vp, batch),
                           score_probs(task, first.data.test.labels, tp, batch)});
    val_sum = val_sum.defined() ? val_sum + vp : vp;
    test_sum = test_sum.defined() ? test_sum + tp : tp;
  }
  const auto n = static_cast<double>(runs.size());
  ens.val = score_probs(task, first.data.val.labels, val_sum / n, batch);
  ens.test = score_probs(task, first.data.test.labels, test_sum / n, batch);

  fs::create_directories(out);
  RunMetrics& m = ens.metrics;
  m.dataset = first.config.dataset;
  m.size = first.config.size;
  m.model = first.config.model.name;
  m.backbone = "ensemble of " + std::to_string(runs.size()) + " runs";
  m.selection = std::string("the mean of the members' ") + (o.calibrate ? "temperature-scaled " : "") +
                "probabilities, each member's own chosen checkpoint";
  m.device = o.device.str();
  m.data_file = first.data.path;
  m.md5 = data::md5_status_name(first.data.md5);
  const std::string tta = common_tta(ens.members);
  const std::string name =
      std::string(tta == "none" ? "ensemble" : "ensemble-tta") + (o.calibrate ? "-calibrated" : "");
  m.val = record_split(out, {m.dataset, m.size, "val", name}, task, first.data.val.labels, ens.val);
  m.test = record_split(out, {m.dataset, m.size, "test", name}, task, first.data.test.labels, ens.test);
  write_metrics(RunFiles(out).metrics(), m);
  nlohmann::json members = nlohmann::json::array();
  for (const auto& member : ens.members) members.push_back(member_json(member));
  core::write_file_atomic(out + "/ensemble.json",
                          nlohmann::json{{"tta", tta}, {"members", members}}.dump(2) + "\n");
  return ens;
}

}  // namespace mednet::run
