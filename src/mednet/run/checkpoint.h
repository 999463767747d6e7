#pragma once
// Checkpoints (best.pt, last.pt, last_optimizer.pt). Each is written to NAME.tmp first ("staged"), with
// its size and CRC-32 taken on the way; run/journal.h commits staged files after state.json records their
// digests, so a kill or a full disk never leaves a half-written file where a good one was, and a damaged
// file is caught before it is parsed. The files are safetensors files that mednet reads itself; those of
// runs from earlier versions (LibTorch archives) are read too (run/legacy_checkpoint.h).
#include <string>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "mednet/core/fs.h"

namespace mednet::run {

using core::FileDigest;

/// The module's (optimizer's) state as it is at this call, as a writer for core::stage_file that may run
/// later, on another thread, while training changes the originals (run/epoch_writer.h): it holds host
/// copies of the tensors. core::stage_file(path, writer) stages it as path + ".tmp".
core::FileWriter module_snapshot(const torch::nn::Module& m);
core::FileWriter optimizer_snapshot(const torch::optim::Optimizer& opt);

/// Writes the module (optimizer) state to path atomically (a temporary, then the rename).
FileDigest save_module(const torch::nn::Module& m, const std::string& path);
FileDigest save_optimizer(const torch::optim::Optimizer& opt, const std::string& path);

/// Loads a checkpoint into m. A file that does not parse, or whose tensors differ in shape or type from
/// the model's (a changed config.json), is an error naming the file. Callers check the digest first.
void load_module(torch::nn::Module& m, const std::string& path, const c10::Device& device);
void load_optimizer(torch::optim::Optimizer& opt, const std::string& path);

/// The bytes such a file holds, and loading from them (with the same checks; source names the bytes in
/// errors): how rank 0 of a distributed job hands its start state to the others (train/data_parallel.h).
std::string module_bytes(const torch::nn::Module& m);
std::string optimizer_bytes(const torch::optim::Optimizer& opt);
void load_module_bytes(torch::nn::Module& m, const std::string& bytes, const std::string& source,
                       const c10::Device& device);
void load_optimizer_bytes(torch::optim::Optimizer& opt, const std::string& bytes, const std::string& source);

}  // namespace mednet::run
