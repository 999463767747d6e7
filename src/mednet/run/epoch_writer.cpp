#include "mednet/run/epoch_writer.h"

#include "mednet/core/fs.h"
#include "mednet/core/runtime.h"

namespace mednet::run {

EpochFile staged_from(const std::string& path, core::FileWriter writer) {
  return {path, [path, writer = std::move(writer)] { return core::stage_file(path, writer); }};
}

EpochWriter::EpochWriter(RunFiles files, bool background)
    : files_(std::move(files)), background_(background && core::gpu_lever("async-checkpoint")) {}

EpochWriter::~EpochWriter() {
  if (!pending_.valid()) return;
  try {
    pending_.get();
  } catch (...) {  // nobody is left to tell: the folder keeps its last committed epoch
  }
}

void EpochWriter::submit(RunState& state, std::vector<EpochFile> files) {
  wait(state);
  const auto commit = [dir = files_, files = std::move(files)](RunState s) {
    write_epoch(dir, s, files);
    return s;
  };
  if (!background_) {
    state = commit(state);
    return;
  }
  pending_ = std::async(std::launch::async, commit, state);
}

void EpochWriter::wait(RunState& state) {
  if (!pending_.valid()) return;
  state.checkpoints = pending_.get().checkpoints;  // get() leaves pending_ empty, also when it throws
}

}  // namespace mednet::run
