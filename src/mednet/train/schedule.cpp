#include "mednet/train/schedule.h"

#include <cmath>
#include <random>

#include "mednet/core/error.h"

namespace mednet::train {

double lr_at(const std::string& schedule, double base_lr, int epoch, int total, int warmup) {
  if (warmup > 0) {
    if (epoch < warmup) return base_lr * (epoch + 1) / static_cast<double>(warmup);
    return lr_at(schedule, base_lr, epoch - warmup, total - warmup);
  }
  if (schedule == "constant") return base_lr;
  if (schedule == "step") {
    // MultiStepLR(milestones=[0.5 * epochs, 0.75 * epochs], gamma=0.1)
    double lr = base_lr;
    if (epoch >= static_cast<int>(0.5 * total)) lr *= 0.1;
    if (epoch >= static_cast<int>(0.75 * total)) lr *= 0.1;
    return lr;
  }
  if (schedule == "cosine")
    return base_lr * 0.5 * (1.0 + std::cos(M_PI * epoch / static_cast<double>(total)));
  MN_CHECK_USAGE(false, "unknown schedule '", schedule, "': expected step, cosine or constant");
  return base_lr;
}

uint64_t epoch_seed(uint64_t seed, int epoch) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(epoch)};
  uint32_t out[2];
  seq.generate(out, out + 2);
  return (static_cast<uint64_t>(out[0]) << 32) | out[1];
}

}  // namespace mednet::train
