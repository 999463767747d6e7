#pragma once
// What `mednet predict --cam` writes for one input: the class activation map of the predicted class,
// brought back to the input's own grid. A 2D input gets an overlay PNG (the map over the picture, in
// the inferno colormap); a 3D input gets the map as a NIfTI volume on the input's grid (a NIfTI
// input's geometry, so a viewer lays it over the scan) and a PNG of the three planes through the
// map's peak.
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/data/nifti_file.h"

namespace mednet::deploy {

struct CamFiles {
  std::vector<std::string> written;
  std::vector<int64_t> peak;  ///< 3D: the map's peak on the input grid as (x, y, z) voxel indices
  bool zero = false;          ///< the map is 0 everywhere (no positive evidence at that layer)
};

/// input: the file as read ([C, H, W] or [C, D, H, W], any dtype); map: [S, S] or [S, S, S] in [0, 1]
/// at the network's size; base: the path without extension ("out/scan.gradcam").
CamFiles write_cam_files(const std::string& base, const at::Tensor& input,
                         const std::optional<data::NiftiGeometry>& geometry, const at::Tensor& map);

/// The picture write_cam_files writes, in memory (uint8 [3 or 1, H, W]): 2D the overlay, 3D the three
/// planes through the map's peak (peak, when given, gets it as (x, y, z) on the input grid).
at::Tensor cam_picture(const at::Tensor& input, const at::Tensor& map, std::vector<int64_t>* peak = nullptr);

/// The map resampled to the given spatial size ((bi/tri)linear, align_corners false), in [0, 1].
at::Tensor resample_map(const at::Tensor& map, const std::vector<int64_t>& size);

}  // namespace mednet::deploy
