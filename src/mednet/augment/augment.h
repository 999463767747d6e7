#pragma once
// Data augmentation for 2D and 3D batches, configured in experiment files as a list of transforms:
//
//   "augment": [{"type": "flip", "axes": [1], "p": 0.5}, {"type": "rotate", "degrees": 15, "p": 0.5}]
//
// Each transform draws its own parameters per sample and fires with its own probability. The
// geometric ones (rotate, flip, scale, translate) compose into one affine map per sample, applied to
// the whole batch with one affine_grid + grid_sample on the training device (one interpolation, zero
// padding outside the image). The intensity ones (brightness, contrast, noise) follow, and the result
// is clamped to the input's [0, 1] range. Last, "corrupt" replaces a sample by one of the corruptions of
// a robustness check (corruption_registry.h), one corruption and severity drawn per sample, computed on
// the picture rounded to 8 bits as a stored file would be:
//
//   {"type": "corrupt", "p": 0.5, "set": "retinamnist", "severity": 5}   (3D: "set": "ct-mri")
//
// Everything is drawn from the seed passed to apply(), so a batch augments the same way every time;
// samples that draw no transform come back bit-identical.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json_fwd.hpp>

#include "mednet/augment/corruption_registry.h"

namespace mednet::augment {

struct TransformSpec {
  std::string type;         ///< rotate | flip | scale | translate | brightness | contrast | noise | corrupt
  double p = 0.5;           ///< probability per sample (per axis for flip)
  double degrees = 0;       ///< rotate: angle uniform in [-degrees, degrees] (3D: about each axis)
  std::vector<int> axes;    ///< flip: spatial axes (2D: 0 = vertical, 1 = horizontal; 3D: 0 = depth, ...)
  double min = 1, max = 1;  ///< scale: zoom factor uniform in [min, max] (> 1 enlarges)
  double fraction = 0;      ///< translate: shift uniform in [-fraction, fraction] of the size, per axis
  double delta = 0;         ///< brightness: added value in [-delta, delta]; contrast: factor 1 +- delta
  double std = 0;           ///< noise: Gaussian standard deviation (images are in [0, 1])
  std::string set;          ///< corrupt: a 2D dataset's MedMNIST-C list (its flag), or "ct-mri" (3D)
  int severity = 5;         ///< corrupt: severities drawn uniformly from 1..severity
};

/// The type names apply() understands.
std::vector<std::string> transform_types();

nlohmann::json to_json(const TransformSpec& t);
/// Reads one transform; an unknown type or key, or a value out of range, is a usage error.
TransformSpec transform_from_json(const nlohmann::json& j);
/// Checks a list against the data's number of spatial dimensions (flip axes in range).
void validate(const std::vector<TransformSpec>& transforms, int spatial_dims);

/// The corruptions a "corrupt" transform draws from for images of spatial_dims dimensions (a usage error
/// when its "set" does not fit them).
const std::vector<CorruptionSpec>& corruption_list(const TransformSpec& t, int spatial_dims);

/// Applies the transforms to a float batch in [0, 1], [N, C, H, W] or [N, C, D, H, W], on its device.
/// An empty list returns the input unchanged.
at::Tensor apply(const std::vector<TransformSpec>& transforms, const at::Tensor& images, uint64_t seed);

}  // namespace mednet::augment
