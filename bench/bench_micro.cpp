// Micro-benchmarks of the pieces a training epoch is made of.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "mednet/core/runtime.h"
#include "mednet/explain/methods.h"
#include "mednet/metrics/metrics.h"
#include "mednet/models/cnn.h"

using namespace mednet;

static void BM_Cnn3dTrainStep(benchmark::State& state) {
  core::set_threads(0);
  torch::manual_seed(0);
  models::Cnn net(models::CnnOptions(2).spatial_dims(3).input_size(28));
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  at::Tensor x = torch::randn({32, 1, 28, 28, 28});
  at::Tensor y = torch::randint(0, 2, {32}, torch::kLong);
  for (auto _ : state) {
    opt.zero_grad();
    at::Tensor loss = torch::cross_entropy_loss(net->forward(x), y);
    loss.backward();
    opt.step();
    benchmark::DoNotOptimize(loss.item<float>());
  }
  state.SetItemsProcessed(state.iterations() * 32);
}
BENCHMARK(BM_Cnn3dTrainStep)->Unit(benchmark::kMillisecond)->MinTime(3.0);

static void BM_Cnn3dInference(benchmark::State& state) {
  core::set_threads(0);
  models::Cnn net(models::CnnOptions(2).spatial_dims(3).input_size(28));
  net->eval();
  torch::NoGradGuard g;
  at::Tensor x = torch::randn({state.range(0), 1, 28, 28, 28});
  for (auto _ : state) benchmark::DoNotOptimize(net->forward(x).sum().item<float>());
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Cnn3dInference)->Arg(1)->Arg(256)->Unit(benchmark::kMillisecond);

// Grad-CAM's cost against one forward + backward pass of the same batch (eval mode, 64 volumes, the
// study's 3D CNN): the target is at most about 3x.
static void BM_Cnn3dForwardBackward64(benchmark::State& state) {
  core::set_threads(0);
  torch::manual_seed(0);
  models::Cnn net(models::CnnOptions(2).spatial_dims(3).input_size(28));
  net->eval();
  at::Tensor x = torch::randn({64, 1, 28, 28, 28});
  for (auto _ : state) {
    net->zero_grad();
    at::Tensor s = net->forward(x).select(1, 1).sum();
    s.backward();
    benchmark::DoNotOptimize(s.item<float>());
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(BM_Cnn3dForwardBackward64)->Unit(benchmark::kMillisecond)->MinTime(3.0);

static void BM_Cnn3dGradCam64(benchmark::State& state) {
  core::set_threads(0);
  torch::manual_seed(0);
  models::Cnn net(models::CnnOptions(2).spatial_dims(3).input_size(28));
  at::Tensor x = torch::randn({64, 1, 28, 28, 28});
  std::unique_ptr<explain::Attribution> cam =
      explain::make_cam(state.range(0) == 0 ? "gradcam" : "gradcampp", *net, "");
  for (auto _ : state) benchmark::DoNotOptimize(cam->compute(x).maps.sum().item<float>());
  state.SetItemsProcessed(state.iterations() * 64);
  state.SetLabel(state.range(0) == 0 ? "gradcam" : "gradcam++");
}
BENCHMARK(BM_Cnn3dGradCam64)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(3.0);

static void BM_RocAuc(benchmark::State& state) {
  std::vector<double> s(static_cast<size_t>(state.range(0)));
  std::vector<int> y(s.size());
  for (size_t i = 0; i < s.size(); ++i)
    s[i] = (i * 7919 % 1000) / 1000.0, y[i] = static_cast<int>(i % 3 == 0);
  for (auto _ : state) benchmark::DoNotOptimize(metrics::roc_auc(s, y));
}
BENCHMARK(BM_RocAuc)->Arg(22433);

BENCHMARK_MAIN();
