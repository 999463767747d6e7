#pragma once
// Committing an epoch to a run folder, and recovering the folder after a kill. state.json is the one
// commit point: an epoch's checkpoints are staged as NAME.tmp (run/checkpoint.h), then state.json,
// which records their digests, is written atomically, and only then are the staged files renamed into
// place and history.csv rewritten.
//   killed before state.json is written: the previous epoch is whole; the staged files are stale.
//   killed after: recover_run finishes the renames that the recorded digests vouch for.
// A checkpoint whose bytes differ from its recorded digest is never used: an error names it.
#include <functional>
#include <string>
#include <vector>

#include "mednet/run/run_files.h"
#include "mednet/run/state.h"

namespace mednet::run {

/// Records a staged or saved checkpoint's digest in state under the path's file name.
void record_checkpoint(RunState& state, const std::string& path, const core::FileDigest& digest);

/// Writes state.json, then renames each staged path (path + ".tmp") over path, then history.csv.
/// state.checkpoints holds the staged files' digests.
void commit_epoch(const RunFiles& files, const RunState& state, const std::vector<std::string>& staged);

/// One checkpoint of an epoch: its path and the call that stages it (run/checkpoint.h).
struct EpochFile {
  std::string path;
  std::function<core::FileDigest()> stage;
};

/// Stages each file, records its digest in state and commits the epoch (commit_epoch). A failure before
/// state.json is replaced (a full disk) removes what was staged and goes on as an error: the folder
/// keeps the previous epoch, with no temporary left.
void write_epoch(const RunFiles& files, RunState& state, const std::vector<EpochFile>& to_write);

/// The state to resume from: state.json read; the staged files it vouches for moved into place; every
/// other .tmp file in the folder (never committed) removed; history.csv rewritten; every recorded
/// checkpoint verified.
RunState recover_run(const RunFiles& files);

/// An error naming path unless its bytes match the digest state records for its file name (nothing to
/// check when state records none, as in runs written before digests).
void verify_checkpoint(const RunState& state, const std::string& path);

/// verify_checkpoint against the folder's own state.json, when it has one (eval, cam, quantize and
/// init-from read best.pt through this).
void verify_run_checkpoint(const RunFiles& files, const std::string& path);

}  // namespace mednet::run
