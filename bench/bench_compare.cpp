// mednet's side of bench/compare.sh: one study model trained as `mednet train` trains it (the arm's
// settings from its experiment file), timed per epoch, then inference at batch 256 and peak memory.
// It writes ARM's folder: protocol.json (the settings and these numbers, for bench/torch_compare.py to
// repeat in PyTorch) and model.safetensors (the same network, so PyTorch builds exactly it).
//
//   bench_compare ARM [--device cpu|cuda] [--threads N] [--epochs E] [--precision fp32|bf16|fp16] [--out DIR]
//                     [--size S] [--root DIR]
//   ARM: cnn3d-adrenal | resnet18-adrenal | cnn2d-retina | cnn2d-aug-retina | resnet18-retina |
//        vgg16-partial64-retina
// --size trains at a MedMNIST+ size (64 for volumes; 64, 128 or 224 px) from the file of that size in --root
// (default $MEDMNIST_ROOT; bench/compare.sh generates one); VGG16 then sees its pictures at their own size
// rather than 28-px ones enlarged to 64.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include <c10/util/Backtrace.h>
#include <torch/cuda.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/augment/augment.h"
#include "mednet/core/runtime.h"
#include "mednet/data/dataset.h"
#include "mednet/deploy/export.h"
#include "mednet/engine/autocast.h"
#include "mednet/engine/evaluate.h"
#include "mednet/experiments/experiment_spec.h"
#include "mednet/models/classifier.h"
#include "mednet/train/trainer.h"

using namespace mednet;
using Clock = std::chrono::steady_clock;

namespace {

struct ArmSource {
  const char* file;  // in experiments/
  const char* arm;   // "": the file is a single run's config
};

const std::map<std::string, ArmSource>& arms() {
  static const std::map<std::string, ArmSource> a{
      {"cnn3d-adrenal", {"exp1_cnn3d_adrenal.json", ""}},
      {"resnet18-adrenal", {"exp3_resnet.json", "resnet18-adrenal"}},
      {"cnn2d-retina", {"exp2a_cnn2d_retina.json", "no-augmentation"}},
      {"cnn2d-aug-retina", {"exp2a_cnn2d_retina.json", "augmentation"}},
      {"resnet18-retina", {"exp3_resnet.json", "resnet18-retina"}},
      {"vgg16-partial64-retina", {"exp2b_vgg16_retina.json", "partial"}},
  };
  return a;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void sync(const c10::Device& d) {
  if (d.is_cuda()) torch::cuda::synchronize();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Times each epoch's training pass (the device drained at both ends) and the whole epoch.
struct Timer : train::TrainObserver {
  explicit Timer(c10::Device d) : device(d) {}
  void on_epoch_begin(int, int, int64_t) override {
    sync(device);
    t0 = Clock::now();
  }
  void on_train_pass_end(int) override {
    sync(device);
    train.push_back(seconds_since(t0));
  }
  void on_epoch_end(const run::EpochRecord& r, bool) override { epoch.push_back(r.seconds); }
  c10::Device device;
  Clock::time_point t0;
  std::vector<double> train, epoch;
};

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

}  // namespace

int run_bench(int argc, char** argv) {
  if (argc < 2 || !arms().count(argv[1])) {
    std::cerr << "usage: bench_compare ARM [--device cpu|cuda] [--threads N] [--epochs E] [--precision "
                 "fp32|bf16|fp16] [--out DIR] [--size S] [--root DIR]\n  ARM:";
    for (const auto& a : arms()) std::cerr << " " << a.first;
    std::cerr << "\n";
    return 2;
  }
  const std::string arm = argv[1];
  std::string device_name = "cpu", out = "/tmp/mednet_compare/" + arm, precision = "fp32";
  const char* env_root = std::getenv("MEDMNIST_ROOT");
  std::string root = env_root ? env_root : "";
  int threads = 0, epochs = 3, size = 0;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--device")
      device_name = v;
    else if (k == "--threads")
      threads = std::atoi(v.c_str());
    else if (k == "--epochs")
      epochs = std::atoi(v.c_str());
    else if (k == "--out")
      out = v;
    else if (k == "--precision")
      precision = v;
    else if (k == "--size")
      size = std::atoi(v.c_str());
    else if (k == "--root")
      root = v;
    else {
      std::cerr << "bench_compare: unknown flag " << k << "\n";
      return 2;
    }
  }
  const c10::Device device = core::resolve_device(device_name);
  threads = core::set_threads(threads, device);
  core::keep_freed_memory();

  const ArmSource& src = arms().at(arm);
  const std::string file = std::string(MEDNET_SOURCE_DIR) + "/experiments/" + src.file;
  run::TrainConfig c;
  if (*src.arm) {
    const auto spec = experiments::load_experiment(file);
    c = experiments::arm_config(spec, experiments::find_arm(spec, src.arm), /*seed=*/0);
  } else {
    c = run::load_config(file);
  }
  c.epochs = epochs;
  c.patience = 0;
  c.grad_norm_epochs = 0;
  c.device = device_name;
  c.precision = precision;
  if (size > 0) c.size = size;
  if (c.model.name == "vgg16") {
    c.model.input_size = std::max(64, c.size);
    c.transfer.weights.clear();  // speed only: the same network from random weights
  }
  const auto& info = data::find_dataset(c.dataset);
  const data::MedMnist m = data::open_medmnist(info, c.size, root, nullptr, /*check_md5=*/false);
  std::filesystem::remove_all(out);

  train::Trainer trainer(c, m, out, device);
  Timer timer(device);
  const auto t_run = Clock::now();
  trainer.run(timer);
  const double run_seconds = seconds_since(t_run);
  // Steady state: the first epoch (allocator warm-up, cuDNN autotuning) is left out when there are more.
  const auto steady = [](const std::vector<double>& v) {
    return median(v.size() > 1 ? std::vector<double>(v.begin() + 1, v.end()) : v);
  };
  const double train_s = steady(timer.train), epoch_s = steady(timer.epoch);

  // Inference: the training split in batches of 256, after one warm-up pass.
  models::ClassifierImpl& model = trainer.model();
  const int reps = 5;
  const engine::Autocast autocast(precision, device);  // inference in the training precision
  engine::predict(model, m.train.images, info.task, device, 256);
  sync(device);
  const auto t_inf = Clock::now();
  for (int r = 0; r < reps; ++r) engine::predict(model, m.train.images, info.task, device, 256);
  sync(device);
  const double infer_sps = static_cast<double>(m.train.size() * reps) / seconds_since(t_inf);

  deploy::ExportSource es;
  es.info = &info;
  es.size = c.size;
  es.run_dir = out;
  deploy::export_safetensors(model, es, out + "/model.safetensors");

  nlohmann::json augment = nlohmann::json::array();
  for (const auto& t : c.augment) augment.push_back(augment::to_json(t));
  nlohmann::json j = {
      {"arm", arm},
      {"data_file", m.path},
      {"task", data::task_name(info.task)},
      {"volumetric", info.volumetric},
      {"batch_size", c.batch_size},
      {"eval_batch_size", c.eval_batch_size},
      {"lr", c.lr},
      {"optimizer", c.optimizer},
      {"epochs", epochs},
      {"augment", augment},
      {"freeze_blocks", c.transfer.freeze},
      {"backbone_lr_scale", c.transfer.backbone_lr_scale},
      {"trainable_params", models::count_parameters(model)},
      {"device", device.str()},
      {"precision", precision},
      {"threads", threads},
      {"n_train", m.train.size()},
      {"size", c.size},
      {"input_size", c.model.input_size},
      {"mednet",
       {{"train_samples_per_s", static_cast<double>(m.train.size()) / train_s},
        {"epoch_s", epoch_s},
        {"run_s", run_seconds},
        // The run less its epochs: checkpoint writes left on the epoch path, and the final scoring.
        {"outside_epochs_s", run_seconds - std::accumulate(timer.epoch.begin(), timer.epoch.end(), 0.0)},
        {"infer_samples_per_s", infer_sps},
        {"peak_rss_mb", peak_rss_mb()},
        {"train_s_per_epoch", timer.train},
        {"epoch_s_per_epoch", timer.epoch}}},
  };
  std::ofstream(out + "/protocol.json") << j.dump(2) << "\n";
  std::cout << j["mednet"].dump() << std::endl;
  return 0;
}

// A crash says where it happened (LibTorch's backtrace), not only "Segmentation fault".
extern "C" void on_crash(int sig) {
  std::fprintf(stderr, "bench_compare: signal %d\n%s\n", sig, c10::get_backtrace().c_str());
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

int main(int argc, char** argv) {
  std::signal(SIGSEGV, on_crash);
  std::signal(SIGABRT, on_crash);
  try {
    return run_bench(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench_compare: " << e.what() << "\n";
    return 1;
  }
}
