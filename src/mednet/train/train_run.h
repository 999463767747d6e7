#pragma once
// One training run as the commands run it: open the data, train (or continue) into a run directory,
// draw learning_curves.png, and tell the observer a header before and a summary after (the best
// epoch, val and test scores, the published benchmark beside them).
#include <string>

#include "mednet/train/trainer.h"

namespace mednet::train {

struct TrainRunOptions {
  bool resuming = false;  ///< continue the run already in the directory
  bool check_md5 = true;
};

/// Trains cfg into out (or continues the run there when resuming); returns how it ended.
TrainResult train_run(run::TrainConfig cfg, const std::string& out, const TrainRunOptions& options,
                      TrainObserver& observer);

}  // namespace mednet::train
