#pragma once
// Committing epochs (run/journal.h's write_epoch) on a thread of their own, so that the next epoch trains
// while the last one is staged, recorded and renamed into place. One commit is in flight at a time: the
// next submit, wait or the destructor waits for it. The journal's promise is unchanged: a kill at any
// moment leaves the last committed epoch whole (at most one epoch behind the one training).
#include <future>
#include <vector>

#include "mednet/run/journal.h"

namespace mednet::run {

/// An epoch's file staged by a writer that owns what it writes (run/checkpoint.h's snapshots).
EpochFile staged_from(const std::string& path, core::FileWriter writer);

class EpochWriter {
 public:
  /// background false (or lever "async-checkpoint" off, core/runtime.h): submit commits before it returns.
  explicit EpochWriter(RunFiles files, bool background = true);
  /// Waits for the commit in flight; an error it raised is lost only here (wait before, to see it).
  ~EpochWriter();
  EpochWriter(const EpochWriter&) = delete;
  EpochWriter& operator=(const EpochWriter&) = delete;

  /// Waits for the previous commit (wait), then commits state with the files. Each file's stage call
  /// runs later, on the writer's thread: it must own what it writes (run/checkpoint.h's snapshots).
  void submit(RunState& state, std::vector<EpochFile> files);

  /// Waits for the commit in flight, throws its error (a full disk: the folder keeps the epoch before),
  /// and records the digests it wrote in state.checkpoints.
  void wait(RunState& state);

 private:
  RunFiles files_;
  bool background_;
  std::future<RunState> pending_;
};

}  // namespace mednet::run
