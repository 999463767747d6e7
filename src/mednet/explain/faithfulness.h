#pragma once
// Is a heatmap about the model? Two checks. (a) Model randomisation (Adebayo et al. 2018): maps of the
// trained model against maps of the same architecture with fresh weights; a faithful method gives
// different maps (low rank correlation). (b) Deletion: blank the most highlighted k% of pixels or
// voxels and watch the target class probability; it must fall faster than when blanking random ones.
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/models/classifier.h"

namespace mednet::explain {

/// Spearman rank correlation of two tensors' values (ties get their average rank); NaN if either is
/// constant.
double spearman(const at::Tensor& a, const at::Tensor& b);

/// Spearman correlation per sample of two [N, ...] batches of maps.
std::vector<double> rank_correlation_per_sample(const at::Tensor& a, const at::Tensor& b);

struct DeletionCurve {
  std::vector<double> fractions;            ///< share of positions blanked
  std::vector<double> by_map;               ///< mean target probability, most highlighted first
  std::vector<double> random;               ///< the same, random positions
  double area_by_map = 0, area_random = 0;  ///< trapezoid area under each curve over [0, max fraction]
};

/// Deletion curves for network inputs x [N, C, *s], maps [N, *s] and targets [N]. Blanked positions take
/// the baseline's value there (a tensor broadcastable to x); without one, each image's mean value (all
/// channels). Random positions come from seed.
DeletionCurve deletion_curve(models::ClassifierImpl& model, const at::Tensor& x, const at::Tensor& maps,
                             const at::Tensor& target, const std::vector<double>& fractions, uint64_t seed,
                             const at::Tensor& baseline = at::Tensor());

/// A blurred copy of x [N, C, *s] (2D or 3D): three box filters of the given odd width, which
/// approximate a Gaussian; borders average only the positions inside the image.
at::Tensor blurred(const at::Tensor& x, int64_t width);

}  // namespace mednet::explain
