#pragma once
// One training run as the commands run it: console header, training with a progress display,
// metrics.json and learning_curves.png, the result beside the published benchmark.
#include <string>

#include "mednet/train/trainer.h"

namespace mednet::app {

struct RunOutcome {
  train::TrainResult result;
  int64_t params = 0;
};

/// Trains cfg into out (or continues the run there when resuming) and writes its reports.
RunOutcome train_and_report(train::TrainConfig cfg, const std::string& out, bool resuming, bool skip_md5);

}  // namespace mednet::app
