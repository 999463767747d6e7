#pragma once
// Checkpoints (best.pt, last.pt, last_optimizer.pt) written atomically (temporary file, then rename), so an
// interrupt never leaves a half-written file where a good one was.
#include <string>

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

namespace mednet::run {

void save_module(const torch::nn::Module& m, const std::string& path);
void load_module(torch::nn::Module& m, const std::string& path, const c10::Device& device);
void save_optimizer(const torch::optim::Optimizer& opt, const std::string& path);
void load_optimizer(torch::optim::Optimizer& opt, const std::string& path);

}  // namespace mednet::run
