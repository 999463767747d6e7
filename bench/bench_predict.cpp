// mednet predict's speed target: 1000 PNG files at 28 px (RetinaMNIST shape, 3x28x28) read, conformed,
// scored by the study's 2D CNN and written to predictions.csv, in under 10 s on 2 cores. Weights are
// random (speed does not depend on them); the pictures are random noise written by the PNG writer.
//   usage: bench_predict [files=1000] [threads=all]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <torch/torch.h>

#include "mednet/core/runtime.h"
#include "mednet/data/catalog.h"
#include "mednet/data/image_file.h"
#include "mednet/deploy/predict.h"
#include "mednet/models/registry.h"

using namespace mednet;

int main(int argc, char** argv) {
  const int files = argc > 1 ? std::atoi(argv[1]) : 1000;
  core::set_threads(argc > 2 ? std::atoi(argv[2]) : 0);
  const std::string dir = (std::filesystem::temp_directory_path() / "mednet_bench_predict").string();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir + "/in");
  torch::manual_seed(0);
  for (int i = 0; i < files; ++i) {
    char name[64];
    std::snprintf(name, sizeof name, "/in/img%05d.png", i);
    data::write_png(dir + name, torch::randint(0, 256, {3, 28, 28}, torch::kByte));
  }
  run::OpenRun r(dir);
  r.info = &data::find_dataset("retinamnist");
  r.config.dataset = "retinamnist";
  r.config.size = 28;
  models::ModelSpec spec;
  spec.widths = {32, 64, 128};
  spec.hidden = {256};
  r.model = models::make_model(spec, data::input_shape(*r.info, 28));
  r.model->eval();

  const auto t0 = std::chrono::steady_clock::now();
  const auto paths = deploy::collect_inputs({}, dir + "/in");
  const deploy::PredictOutcome p = deploy::predict_files(r, paths, c10::kCPU, deploy::PredictOptions{});
  deploy::write_predictions_csv(dir + "/predictions.csv", p);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "predict: %zu PNG files (28 px, RGB), %zu predicted, %zu failed, %d threads: %.2f s (target < 10 s): "
      "%s\n",
      paths.size(), p.items.size() - p.failed, p.failed, at::get_num_threads(), s, s < 10 ? "PASS" : "MISS");
  std::filesystem::remove_all(dir);
  return p.failed == 0 ? 0 : 1;
}
