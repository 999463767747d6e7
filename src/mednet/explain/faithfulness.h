#pragma once
// Is a heatmap about the model? (a) Model randomisation (Adebayo et al. 2018): maps of the trained model
// against maps of the same architecture with fresh weights; a faithful method gives different maps (low
// rank correlation). (b) Deletion and insertion (Petsiuk et al. 2018): blank the most highlighted k% of
// pixels or voxels and watch the target class probability fall, or restore them first on a baseline and
// watch it rise; both must move sooner than with random positions.
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

struct PixelCurve {
  std::vector<double> fractions;            ///< share of positions blanked (deletion) or restored (insertion)
  std::vector<double> by_map;               ///< mean target probability, most highlighted first
  std::vector<double> random;               ///< the same, random positions
  double area_by_map = 0, area_random = 0;  ///< trapezoid area under each curve over [0, max fraction]
  std::vector<double> sample_area_by_map;   ///< each sample's own area, [N]
  std::vector<double> sample_area_random;
};

/// Deletion curves for network inputs x [N, C, *s], maps [N, *s] and targets [N]. Blanked positions take
/// the baseline's value there (a tensor broadcastable to x); without one, each image's mean value (all
/// channels). Random positions come from seed.
PixelCurve deletion_curve(models::ClassifierImpl& model, const at::Tensor& x, const at::Tensor& maps,
                          const at::Tensor& target, const std::vector<double>& fractions, uint64_t seed,
                          const at::Tensor& baseline = at::Tensor());

/// Insertion curves: the same with the roles swapped; at fraction f the f most highlighted (or random)
/// positions hold x and the rest the baseline (Petsiuk et al. start from a blurred copy). Larger areas
/// mean the map finds what the prediction needs.
PixelCurve insertion_curve(models::ClassifierImpl& model, const at::Tensor& x, const at::Tensor& maps,
                           const at::Tensor& target, const std::vector<double>& fractions, uint64_t seed,
                           const at::Tensor& baseline);

/// Noisy linear imputation (Rong et al., ICML 2022): the positions where `removed` [N, *s] is true take the
/// values that make each the weighted mean of its neighbours inside the image (2D: the 8-neighbourhood,
/// 1/6 sideways and 1/12 diagonally, as the ROAD code; 3D: the 6-neighbourhood, equal weights), every
/// channel alike, plus Gaussian noise of standard deviation `noise` (seeded). The sparse symmetric system is
/// solved by conjugate gradients in double precision. x: [N, C, *s].
at::Tensor noisy_linear_imputation(const at::Tensor& x, const at::Tensor& removed, double noise,
                                   uint64_t seed);

/// The noise of ROAD's imputation in mednet cam (pytorch-grad-cam's default for ROADCombined).
constexpr double kRoadNoise = 0.01;

struct RoadScores {
  std::vector<double> percents;    ///< shares of positions imputed
  std::vector<double> morf, lerf;  ///< mean change of the target probability, most / least relevant first
  double combined = 0;             ///< mean over shares of (lerf - morf) / 2: higher is more faithful
  std::vector<double> sample_combined;  ///< each sample's own, [N]
};

/// ROAD (Rong et al. 2022; pytorch-grad-cam's ROADCombined): for each share p, the p most relevant (MoRF)
/// or least relevant (LeRF) positions by the map are imputed with noisy linear imputation, and the target
/// probability's change from the clean input is recorded. Ties in the map keep the positions' order.
RoadScores road(models::ClassifierImpl& model, const at::Tensor& x, const at::Tensor& maps,
                const at::Tensor& target, const std::vector<double>& percents, double noise, uint64_t seed);

/// A blurred copy of x [N, C, *s] (2D or 3D): three box filters of the given odd width, which
/// approximate a Gaussian; borders average only the positions inside the image.
at::Tensor blurred(const at::Tensor& x, int64_t width);
/// The blur width used for baselines of x [N, C, *s]: 9 from 56 positions a side, 5 below.
int64_t blur_width(const at::Tensor& x);

}  // namespace mednet::explain
