#pragma once
// state.json: what resuming a run needs besides its checkpoints (epochs done, the best epoch so far,
// its validation scores, the early-stopping count, the history, the checkpoints' digests). run/journal.h
// commits it after every epoch, together with history.csv.
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mednet/core/fs.h"
#include "mednet/run/history.h"
#include "mednet/run/run_files.h"

namespace mednet::run {

struct RunState {
  int best_epoch = 0;                                              ///< 0: none yet
  double best_val_auc = -1;                                        ///< of the best epoch
  double best_val_loss = std::numeric_limits<double>::infinity();  ///< of the best epoch
  double best_val_acc = -1;                                        ///< of the best epoch
  int bad_epochs = 0;
  double train_seconds = 0;
  /// Updates of the weight average ("ema"), which skips the fp16 steps that overflowed; -1: no average,
  /// or a run written before the count was recorded.
  int64_t ema_updates = -1;
  /// Where the starting weights came from: "random-init", "pretrained: FILE" or "init-from: RUN".
  std::string backbone = "random-init";
  std::vector<EpochRecord> history;
  /// The committed checkpoints' digests by file name (best.pt, last.pt, last_optimizer.pt), checked
  /// before a file is used; empty in runs written before digests were recorded.
  std::map<std::string, core::FileDigest> checkpoints;
  int epochs_done() const { return static_cast<int>(history.size()); }
};

/// state.json's text.
std::string state_json(const RunState& state);
/// A state from state.json's content; source names it in errors.
RunState parse_state(const nlohmann::json& j, const std::string& source);

/// Reads state.json; a missing file is an error saying no epoch of the run finished.
RunState read_state(const RunFiles& files);
/// The finished epochs recorded in state.json (empty when there is none).
std::vector<EpochRecord> read_history(const RunFiles& files);

}  // namespace mednet::run
