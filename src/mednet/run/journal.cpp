#include "mednet/run/journal.h"

#include <filesystem>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"

namespace mednet::run {

namespace fs = std::filesystem;

namespace {
std::string file_name(const std::string& path) {
  return fs::path(path).filename().string();
}

bool matches(const std::string& path, const core::FileDigest& want) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && fs::file_size(path, ec) == want.bytes && !ec &&
         core::digest_file(path) == want;
}

// What follows the commit point: the staged files into place, then history.csv.
void finish_commit(const RunFiles& files, const RunState& state, const std::vector<std::string>& staged) {
  for (const auto& path : staged) core::commit_file(path + ".tmp", path);
  core::write_file_atomic(files.history(), history_csv(state.history));
}
}  // namespace

void record_checkpoint(RunState& state, const std::string& path, const core::FileDigest& digest) {
  state.checkpoints[file_name(path)] = digest;
}

void commit_epoch(const RunFiles& files, const RunState& state, const std::vector<std::string>& staged) {
  core::write_file_atomic(files.state(), state_json(state));
  finish_commit(files, state, staged);
}

void write_epoch(const RunFiles& files, RunState& state, const std::vector<EpochFile>& to_write) {
  std::vector<std::string> staged;
  try {
    for (const auto& f : to_write) {
      record_checkpoint(state, f.path, f.stage());
      staged.push_back(f.path);
    }
    core::write_file_atomic(files.state(), state_json(state));
  } catch (const Error&) {
    for (const auto& path : staged) {
      std::error_code ec;
      fs::remove(path + ".tmp", ec);
    }
    throw;
  }
  finish_commit(files, state, staged);
}

RunState recover_run(const RunFiles& files) {
  RunState state = read_state(files);
  for (const auto& [name, digest] : state.checkpoints) {
    const std::string path = files.dir + "/" + name;
    if (matches(path, digest)) continue;
    if (matches(path + ".tmp", digest)) {  // committed in state.json, killed before the rename
      core::commit_file(path + ".tmp", path);
      continue;
    }
    MN_CHECK(false, "cannot resume: ", path, " is damaged or missing (its size and CRC-32 differ from those ",
             files.state(), " records)");
  }
  for (const auto& entry : fs::directory_iterator(files.dir)) {
    if (entry.path().extension() == ".tmp") {
      std::error_code ec;
      fs::remove(entry.path(), ec);
    }
  }
  core::write_file_atomic(files.history(), history_csv(state.history));
  return state;
}

void verify_checkpoint(const RunState& state, const std::string& path) {
  const auto it = state.checkpoints.find(file_name(path));
  if (it == state.checkpoints.end()) return;
  MN_CHECK(fs::exists(path), "checkpoint ", path, " does not exist");
  const core::FileDigest d = core::digest_file(path);
  MN_CHECK(d == it->second, "checkpoint ", path, " is damaged: ", d.bytes, " bytes with CRC-32 ", d.crc32,
           ", but its run recorded ", it->second.bytes, " bytes with CRC-32 ", it->second.crc32);
}

void verify_run_checkpoint(const RunFiles& files, const std::string& path) {
  if (fs::exists(files.state())) verify_checkpoint(read_state(files), path);
}

}  // namespace mednet::run
