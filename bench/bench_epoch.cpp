// End-to-end training throughput: seconds per epoch of the study's 3D CNN (widths 32/64/128, batch 32)
// on the real AdrenalMNIST3D training split, as `mednet train` runs it. bench/compare.sh times the same
// model in PyTorch Python beside it in one call.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "mednet/core/runtime.h"
#include "mednet/data/dataset.h"
#include "mednet/train/trainer.h"

using namespace mednet;

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 2;
  const int threads = core::set_threads(argc > 2 ? std::atoi(argv[2]) : 0);
  core::keep_freed_memory();
  const char* root = std::getenv("MEDMNIST_ROOT");
  const auto& info = data::find_dataset("adrenalmnist3d");
  const data::MedMnist m = data::open_medmnist(info, 28, root ? root : "");
  run::TrainConfig c;  // the defaults are the study's model and batch size
  c.epochs = epochs;
  c.patience = 0;
  c.schedule = "constant";
  c.device = "cpu";
  const std::string out = "/tmp/mednet_bench_epoch";
  std::system(("rm -rf " + out).c_str());
  train::Trainer t(c, m, out, c10::Device(c10::kCPU));
  train::TrainObserver quiet;
  const train::TrainResult r = t.run(quiet);
  std::vector<double> secs;
  for (const auto& e : r.history) secs.push_back(e.seconds);
  std::sort(secs.begin(), secs.end());
  const double median = secs[secs.size() / 2];
  std::printf("bench_epoch: adrenalmnist3d cnn 32/64/128 batch 32, %d threads, %d epochs\n", threads, epochs);
  for (const auto& e : r.history) std::printf("  epoch %d: %.2f s (incl. validation)\n", e.epoch, e.seconds);
  std::printf("  median %.2f s per epoch (against PyTorch in the same call: bench/compare.sh)\n", median);
  return 0;
}
