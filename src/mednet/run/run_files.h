#pragma once
// The run folder's contract: which files a run directory holds. Who writes them:
//   config.json         the fully resolved TrainConfig (run/config.h), written when training starts
//   state.json          epochs done, best epoch, early-stopping count, history (run/state.h); resume reads it
//   history.csv         one row per finished epoch (run/history.h)
//   best.pt, last.pt, last_optimizer.pt   checkpoints (run/checkpoint.h); with "ema" on, best.pt holds the
//                       weight average and last_ema.pt the average to resume with
//   metrics.json        written by the Trainer when it stops (run/metrics_file.h); run_finished() reads it
//   grad_norms.csv      per-layer gradient norms when asked for (run/grad_norms.h)
//   learning_curves.png (run/learning_curves.h)
//   {flag}{size_flag}_{split}_[AUC]..._[ACC]...@seed<S>.csv   per-sample scores of the val and test
//                       splits in the medmnist package's standard result file (run/split_results.h)
// An int8 model directory (mednet quantize) holds config.json, model_int8.safetensors and quant.json.
#include <string>

namespace mednet::run {

/// File names inside a run directory.
struct RunFiles {
  explicit RunFiles(std::string dir) : dir(std::move(dir)) {}
  std::string dir;
  std::string config() const { return dir + "/config.json"; }
  std::string history() const { return dir + "/history.csv"; }
  std::string metrics() const { return dir + "/metrics.json"; }
  std::string best() const { return dir + "/best.pt"; }
  std::string last() const { return dir + "/last.pt"; }
  std::string last_optimizer() const { return dir + "/last_optimizer.pt"; }
  std::string last_ema() const { return dir + "/last_ema.pt"; }
  std::string state() const { return dir + "/state.json"; }
  std::string curves() const { return dir + "/learning_curves.png"; }
  std::string grad_norms() const { return dir + "/grad_norms.csv"; }
  /// An int8 model directory (mednet quantize) holds this instead of best.pt.
  std::string int8_model() const { return dir + "/model_int8.safetensors"; }
  std::string quant() const { return dir + "/quant.json"; }
};

}  // namespace mednet::run
