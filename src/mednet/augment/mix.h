#pragma once
// Mixup and CutMix for 2D and 3D batches. A batch is paired with a shuffled copy of itself: Mixup blends
// the two images as lam x + (1 - lam) x[partner]; CutMix pastes a box of the partner (a rectangle, or a
// cuboid in 3D) whose share of the image is 1 - lam. lam is drawn from Beta(alpha, alpha); with both on,
// each batch takes one of them with even odds. The loss mixes the same way (mixed_loss), for every task.
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace mednet::augment {

struct MixSpec {
  double mixup = 0;   ///< Beta alpha of Mixup; 0 = off
  double cutmix = 0;  ///< Beta alpha of CutMix; 0 = off
  bool active() const { return mixup > 0 || cutmix > 0; }
};

struct MixedBatch {
  at::Tensor images;   ///< the mixed batch
  at::Tensor partner;  ///< [N] long, on the images' device: row i was mixed with row partner[i]
  double lam = 1;      ///< the share of each row's own image (CutMix: of its pixels)
  bool cutmix = false;
};

/// Mixes a float batch [N, C, *spatial] on its device. Everything is drawn from seed (on the host), so a
/// batch mixes the same way on every device. A spec that is not active returns the batch unchanged.
MixedBatch mix(const MixSpec& spec, const at::Tensor& images, uint64_t seed);

/// lam loss(labels) + (1 - lam) loss(labels[partner]), from a loss of the targets.
template <typename LossOf>
at::Tensor mixed_loss(const MixedBatch& m, const at::Tensor& labels, LossOf&& loss_of) {
  if (!m.partner.defined()) return loss_of(labels);
  return loss_of(labels) * m.lam + loss_of(labels.index_select(0, m.partner)) * (1 - m.lam);
}

}  // namespace mednet::augment
