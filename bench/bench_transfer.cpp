// Experiment 2B's cost: VGG16 epochs on the real RetinaMNIST at 32 and 64 px, as `mednet train` runs
// them (training pass and validation), with the experiment file's two strategies: frozen backbone
// (features cached once, then only the head trains) and partly fine-tuned (blocks 1-3 frozen).
// Target: a frozen epoch with cached features at least 5x faster than a partly fine-tuned one at 64 px.
// bench/vgg16_epoch.py times the same in PyTorch Python.
//   usage: bench_transfer [epochs=3] [threads=all]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "mednet/core/runtime.h"
#include "mednet/data/dataset.h"
#include "mednet/experiments/experiment_spec.h"
#include "mednet/train/trainer.h"

using namespace mednet;

namespace {

struct Quiet : train::TrainObserver {};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Per-epoch seconds of one arm at one input size (a fresh run directory each time).
std::vector<double> epochs_of(const experiments::ExperimentSpec& e, const std::string& arm, int px,
                              int epochs, const data::MedMnist& m) {
  run::TrainConfig c = experiments::arm_config(e, experiments::find_arm(e, arm), 0);
  c.model.input_size = px;
  c.epochs = epochs;
  c.patience = 0;
  const std::string dir = (std::filesystem::temp_directory_path() / ("bench_transfer_" + arm)).string();
  std::filesystem::remove_all(dir);
  train::Trainer t(c, m, dir, torch::kCPU);
  Quiet q;
  const train::TrainResult r = t.run(q);
  std::filesystem::remove_all(dir);
  std::vector<double> s;
  for (const auto& rec : r.history) s.push_back(rec.seconds);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 3;
  const int threads = core::set_threads(argc > 2 ? std::atoi(argv[2]) : 0);
  const char* root = std::getenv("MEDMNIST_ROOT");
  const experiments::ExperimentSpec e =
      experiments::load_experiment(std::string(MEDNET_SOURCE_DIR) + "/experiments/exp2b_vgg16_retina.json");
  const data::MedMnist m = data::open_medmnist(data::find_dataset("retinamnist"), 28, root ? root : "");
  std::printf(
      "VGG16 on RetinaMNIST (train %lld, val %lld), %d threads, %d epochs per arm; seconds per epoch "
      "including validation\n",
      static_cast<long long>(m.train.size()), static_cast<long long>(m.val.size()), threads, epochs);
  for (int px : {32, 64}) {
    const auto frozen = epochs_of(e, "frozen", px, epochs, m);
    const auto partial = epochs_of(e, "partial", px, epochs, m);
    // The frozen arm's first epoch carries the one-off feature caching.
    const std::vector<double> frozen_rest(frozen.begin() + 1, frozen.end());
    std::printf(
        "%d px: partly fine-tuned median %.3f s/epoch; frozen first epoch (with caching) %.3f s, then "
        "median %.4f s/epoch; speed-up of a cached epoch %.1fx\n",
        px, median(partial), frozen.front(), median(frozen_rest), median(partial) / median(frozen_rest));
  }
  return 0;
}
