#include "mednet/run/learning_curves.h"

#include <cmath>

#include "mednet/report/plot.h"

namespace mednet::run {

void write_learning_curves(const std::vector<EpochRecord>& history, int best_epoch,
                           const std::string& selected_by, const std::string& title,
                           const std::string& path) {
  report::Series tl = report::line_series("train loss", {}, {}, 0x1f77b4, false);
  report::Series vl = report::line_series("val loss", {}, {}, 0xd62728, false);
  report::Series ta = report::line_series("train AUC", {}, {}, 0x1f77b4, false);
  report::Series va = report::line_series("val AUC", {}, {}, 0xd62728, false);
  report::Series tc = report::line_series("train ACC", {}, {}, 0x1f77b4, true);
  report::Series vc = report::line_series("val ACC", {}, {}, 0xd62728, true);
  for (const auto& r : history) {
    const double e = r.epoch;
    for (report::Series* s : {&tl, &vl, &ta, &va, &tc, &vc}) s->x.push_back(e);
    tl.y.push_back(r.train_loss);
    vl.y.push_back(r.val_loss);
    ta.y.push_back(r.train_auc);
    va.y.push_back(r.val_auc);
    tc.y.push_back(r.train_acc);
    vc.y.push_back(r.val_acc);
  }
  report::Panel loss{"Loss", "epoch", "cross-entropy", {tl, vl}, NAN, ""};
  report::Panel score{"AUC and ACC", "epoch", "score", {ta, va, tc, vc}, NAN, ""};
  if (best_epoch > 0) {
    loss.marker_x = score.marker_x = best_epoch;
    loss.marker_label = score.marker_label = "best val " + selected_by;
  }
  report::save_png({loss, score}, title, path);
}

}  // namespace mednet::run
