// Augmentation must not starve training: training throughput (images or volumes per second, forward
// + backward + optimizer step) with the experiment file's augmentation against without, on the real
// RetinaMNIST (2D CNN, experiments/exp2a_cnn2d_retina.json) and AdrenalMNIST3D (3D CNN, the same
// transforms in 3D) training splits. Target: with augmentation at least 90% of without. Then the cost of
// each corruption of the corrupt transform per picture (RetinaMNIST's MedMNIST-C list at 28 px, severity 5;
// the CT/MRI artifacts on 28^3 volumes), and the 2A recipe with corruption training against without.
//   usage: bench_augment [epochs=3] [threads=all]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "mednet/augment/augment.h"
#include "mednet/augment/corruption_registry.h"
#include "mednet/core/runtime.h"
#include "mednet/data/dataset.h"
#include "mednet/experiments/experiment_spec.h"
#include "mednet/train/trainer.h"

using namespace mednet;

namespace {

// Seconds for one pass over the training split, as the trainer steps it.
double epoch_seconds(const run::TrainConfig& c, const data::MedMnist& m, bool with_augment, int epoch) {
  torch::manual_seed(static_cast<uint64_t>(epoch));
  models::Classifier model = models::make_model(c.model, mednet::data::input_shape(*m.info, c.size));
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(c.lr));
  model->train();
  const int64_t n = m.train.size();
  const at::Tensor perm = torch::randperm(n);
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t start = 0; start < n; start += c.batch_size) {
    const int64_t len = std::min<int64_t>(c.batch_size, n - start);
    const at::Tensor idx = perm.narrow(0, start, len);
    at::Tensor x;
    if (with_augment) {
      const at::Tensor unit = data::to_unit(m.train.images.index_select(0, idx));
      x = data::unit_to_network_input(augment::apply(c.augment, unit, static_cast<uint64_t>(start)));
    } else {
      x = data::to_network_input(m.train.images.index_select(0, idx));
    }
    opt.zero_grad();
    at::Tensor loss = engine::task_loss(m.info->task, model->forward(x), m.train.labels.index_select(0, idx));
    loss.backward();
    opt.step();
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void compare(const std::string& what, const run::TrainConfig& c, int epochs) {
  const char* root = std::getenv("MEDMNIST_ROOT");
  const auto& info = data::find_dataset(c.dataset);
  const data::MedMnist m = data::open_medmnist(info, c.size, root ? root : "");
  std::vector<double> plain, aug;
  for (int e = 0; e < epochs; ++e) {  // interleaved so that drift in machine speed hits both alike
    plain.push_back(epoch_seconds(c, m, false, e));
    aug.push_back(epoch_seconds(c, m, true, e));
  }
  std::sort(plain.begin(), plain.end());
  std::sort(aug.begin(), aug.end());
  const double p = plain[plain.size() / 2], a = aug[aug.size() / 2];
  const double n = static_cast<double>(m.train.size());
  std::printf("%s: %lld training samples, batch %d, median of %d epochs\n", what.c_str(),
              static_cast<long long>(m.train.size()), c.batch_size, epochs);
  std::printf("  without augmentation %.3f s/epoch (%.1f samples/s)\n", p, n / p);
  std::printf("  with augmentation    %.3f s/epoch (%.1f samples/s)\n", a, n / a);
  std::printf("  throughput with / without: %.1f%% (target >= 90%%)\n", 100.0 * p / a);
}

// Milliseconds per picture of each corruption in the list at severity 5 over the first n pictures.
void corruption_costs(const std::string& what, const std::vector<augment::CorruptionSpec>& list,
                      const at::Tensor& images, int64_t n) {
  std::printf("%s: ms per picture at severity 5 (%lld pictures)\n", what.c_str(), static_cast<long long>(n));
  for (const auto& c : list) {
    if (!c.implemented) continue;
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < n; ++i) augment::corrupt(c, 5, images[i], static_cast<uint64_t>(i));
    const double ms = 1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("  %-18s %8.3f\n", c.name.c_str(), ms / static_cast<double>(n));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 3;
  const int threads = core::set_threads(argc > 2 ? std::atoi(argv[2]) : 0);
  core::keep_freed_memory();
  std::printf("bench_augment: %d threads\n", threads);
  const std::string dir = MEDNET_SOURCE_DIR "/experiments/";
  const experiments::ExperimentSpec e = experiments::load_experiment(dir + "exp2a_cnn2d_retina.json");
  const run::TrainConfig retina = experiments::arm_config(e, experiments::find_arm(e, "augmentation"), 0);
  compare("RetinaMNIST 28px, 2D CNN, exp2a augmentation", retina, epochs);

  run::TrainConfig adrenal = run::load_config(dir + "exp1_cnn3d_adrenal.json");
  adrenal.augment = retina.augment;
  for (auto& t : adrenal.augment)
    if (t.type == "flip") t.axes = {0, 1, 2};
  compare("AdrenalMNIST3D 28^3, 3D CNN, the same transforms in 3D", adrenal, std::max(1, epochs / 2));

  const char* root = std::getenv("MEDMNIST_ROOT");
  const data::MedMnist rm = data::open_medmnist(data::find_dataset("retinamnist"), 28, root ? root : "");
  corruption_costs("RetinaMNIST 28px corruptions", augment::medmnistc_corruptions("retinamnist"),
                   rm.train.images, 200);
  const data::MedMnist am = data::open_medmnist(data::find_dataset("adrenalmnist3d"), 28, root ? root : "");
  corruption_costs("AdrenalMNIST3D 28^3 artifacts", augment::volume_artifacts(), am.train.images, 20);
  const experiments::ExperimentSpec r = experiments::load_experiment(dir + "exp2a_robust.json");
  compare("RetinaMNIST 28px, 2D CNN, exp2a_robust corruption-trained",
          experiments::arm_config(r, experiments::find_arm(r, "corruption-trained"), 0), epochs);
  return 0;
}
