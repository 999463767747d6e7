#include "mednet/report/run_report.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "mednet/core/json.h"
#include "mednet/report/plot.h"

namespace mednet::report {

using nlohmann::json;

namespace {
const auto num = core::finite_or_null;

json split_json(const train::Evaluation& e) {
  return json{{"auc", num(e.scores.auc)},
              {"acc", num(e.scores.acc)},
              {"loss", num(e.loss)},
              {"warnings", e.scores.warnings}};
}
}  // namespace

json metrics_json(const RunSummary& s) {
  const auto& c = *s.config;
  const auto& r = *s.result;
  json j{{"dataset", c.dataset},
         {"size", c.size},
         {"model", c.model.name},
         {"seed", c.seed},
         {"epochs_run", r.epochs_run},
         {"best_epoch", r.best_epoch},
         {"params", s.params},
         {"train_seconds", r.train_seconds},
         {"seconds_per_epoch", r.epochs_run > 0 ? r.train_seconds / r.epochs_run : 0.0},
         {"stop_reason", train::stop_reason_name(r.reason)},
         {"threads", s.threads},
         {"device", s.device},
         {"data_file", s.data_file},
         {"md5", s.md5_status},
         {"selection", "checkpoint with the best validation AUC"},
         {"backbone", r.backbone},
         {"trainable_params", r.trainable_params},
         {"feature_cache", r.feature_cache}};
  if (r.best_epoch > 0) {
    j["val"] = split_json(r.val);
    j["test"] = split_json(r.test);
  }
  return j;
}

void write_learning_curves(const std::vector<train::EpochRecord>& history, int best_epoch,
                           const std::string& title, const std::string& path) {
  Series tl{"train loss", {}, {}, 0x1f77b4, false}, vl{"val loss", {}, {}, 0xd62728, false};
  Series ta{"train AUC", {}, {}, 0x1f77b4, false}, va{"val AUC", {}, {}, 0xd62728, false};
  Series tc{"train ACC", {}, {}, 0x1f77b4, true}, vc{"val ACC", {}, {}, 0xd62728, true};
  for (const auto& r : history) {
    const double e = r.epoch;
    for (Series* s : {&tl, &vl, &ta, &va, &tc, &vc}) s->x.push_back(e);
    tl.y.push_back(r.train_loss);
    vl.y.push_back(r.val_loss);
    ta.y.push_back(r.train_auc);
    va.y.push_back(r.val_auc);
    tc.y.push_back(r.train_acc);
    vc.y.push_back(r.val_acc);
  }
  Panel loss{"Loss", "epoch", "cross-entropy", {tl, vl}, NAN, ""};
  Panel score{"AUC and ACC", "epoch", "score", {ta, va, tc, vc}, NAN, ""};
  if (best_epoch > 0) {
    loss.marker_x = score.marker_x = best_epoch;
    loss.marker_label = score.marker_label = "best val AUC";
  }
  save_png({loss, score}, title, path);
}

}  // namespace mednet::report
