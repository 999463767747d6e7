#include "mednet/train/schedule.h"

#include <cmath>

#include "mednet/core/error.h"

namespace mednet::train {

double lr_at(const std::string& schedule, double base_lr, int epoch, int total) {
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

}  // namespace mednet::train
