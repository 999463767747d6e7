#pragma once
// One training run as the commands run it: open the data, train (or continue) into a run directory,
// draw learning_curves.png, and tell the observer a header before and a summary after (the best
// epoch, val and test scores, the published benchmark beside them).
#include <memory>
#include <string>

#include "mednet/dist/group.h"

#include "mednet/train/trainer.h"

namespace mednet::train {

struct TrainRunOptions {
  bool resuming = false;  ///< continue the run already in the directory
  bool check_md5 = true;
  /// This process is one rank of a data-parallel job (null: trains alone). Rank 0 writes the folder.
  std::shared_ptr<dist::Group> group;
  bool sync_bn = false;  ///< with group: BatchNorm statistics of the global batch
  /// What a CPU run may hold, in MB: a training step's activations (measured, engine/step_memory.h), the
  /// weights with their gradients and optimizer state, and the splits. A run that would need more stops
  /// before its first step with the batch size that fits. 0: 90% of the machine's physical memory.
  double max_memory_mb = 0;
};

/// Trains cfg into out (or continues the run there when resuming); returns how it ended.
TrainResult train_run(run::TrainConfig cfg, const std::string& out, const TrainRunOptions& options,
                      TrainObserver& observer);

}  // namespace mednet::train
