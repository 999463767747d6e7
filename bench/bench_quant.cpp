// Experiment 2D's speed target: full-integer (static int8) inference against fp32 for the study's 2D
// CNN (RetinaMNIST shape, 3x28x28) and 3D CNN (1x28^3), at batch 256 and batch 1, same threads.
// Target: int8 at least 4x faster than fp32 at batch 256 for both. Weights are random (speed does not
// depend on them); calibration uses random images. Per-layer times show where each path spends.
//   usage: bench_quant [repeats=10] [threads=all]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "mednet/core/runtime.h"
#include "mednet/data/catalog.h"
#include "mednet/data/dataset.h"
#include "mednet/models/registry.h"
#include "mednet/quant/extract.h"
#include "mednet/quant/int8_net.h"
#include "mednet/quant/quantize_run.h"

using namespace mednet;

namespace {

bool bench_one(const std::string& flag, int repeats) {
  const auto& info = data::find_dataset(flag);
  models::ModelSpec spec;
  spec.widths = {32, 64, 128};
  spec.hidden = {256};
  models::Classifier model = models::make_model(spec, mednet::data::input_shape(info, 28));
  model->eval();
  torch::NoGradGuard no_grad;
  const bool is3d = info.spatial_dims() == 3;
  std::vector<int64_t> shape = {512, info.channels, 28, 28};
  if (is3d) shape.push_back(28);
  torch::manual_seed(0);
  const at::Tensor images = torch::randint(0, 256, shape, torch::kByte);

  const auto layers = quant::extract_layers(*model);
  const auto folded = quant::fold_layers(layers);
  const auto calib = quant::calibrate(folded, data::to_network_input(images.narrow(0, 0, 256)), "minmax", 64);
  const quant::Int8Net net(folded, quant::Mode::Static, &calib);

  auto fp32 = [&](const at::Tensor& x) { return model->forward(x); };
  auto int8 = [&](const at::Tensor& x) { return net.forward(x); };
  const double f256 = quant::median_latency_ms(fp32, images, 256, repeats);
  const double q256 = quant::median_latency_ms(int8, images, 256, repeats);
  const double f1 = quant::median_latency_ms(fp32, images, 1, 5 * repeats);
  const double q1 = quant::median_latency_ms(int8, images, 1, 5 * repeats);
  std::printf("%s CNN (%s), %d threads, engine %s, median of %d runs\n", is3d ? "3D" : "2D", flag.c_str(),
              at::get_num_threads(), quant::quantized_engine().c_str(), repeats);
  std::printf("  batch 256: fp32 %9.2f ms   int8 %9.2f ms   speed-up %.2fx\n", f256, q256, f256 / q256);
  std::printf("  batch 1:   fp32 %9.3f ms   int8 %9.3f ms   speed-up %.2fx\n", f1, q1, f1 / q1);

  // Per-layer split at batch 256 (one pass each, after the warm-up above).
  const at::Tensor x = data::to_network_input(images.narrow(0, 0, 256));
  std::printf("  per layer at batch 256 (ms):   fp32      int8\n");
  const auto steps = net.profile(x);
  at::Tensor h = x;
  size_t li = 0;
  for (const auto& [name, ms] : steps) {
    double fms = 0;
    if (name != "input quantize" && name != "output dequantize") {
      const auto t0 = std::chrono::steady_clock::now();
      h = quant::apply_float(layers[li++], h);
      fms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
    std::printf("    %-34s %8.2f %9.2f\n", name.c_str(), fms, ms);
  }
  {
    const at::Tensor yf = model->forward(x), yq = net.forward(x);
    std::printf("  int8 vs fp32 on these inputs: same class %.1f%%, max |logit diff| / max |logit| %.4f\n",
                100 * yf.argmax(1).eq(yq.argmax(1)).to(torch::kFloat).mean().item<float>(),
                (yf - yq).abs().max().item<float>() / yf.abs().max().item<float>());
  }
  const bool ok = f256 / q256 >= 4.0;
  std::printf("  target (int8 >= 4x fp32 at batch 256): %s\n\n", ok ? "met" : "MISSED");
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  core::keep_freed_memory();
  const int repeats = argc > 1 ? std::atoi(argv[1]) : 10;
  core::set_threads(argc > 2 ? std::atoi(argv[2]) : 0);
  bench_one("retinamnist", repeats);
  bench_one("adrenalmnist3d", repeats);
  return 0;
}
