#pragma once
// Heatmaps for people: a perceptual colormap (inferno: dark to bright, readable in grey print and by
// colour-blind readers), overlays on the image, and enlargement for viewing.
#include <array>
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace mednet::report {

/// Inferno colour of t in [0, 1], as 0-255 RGB.
std::array<uint8_t, 3> inferno(double t);

/// A [H, W] map in [0, 1] as a uint8 [3, H, W] image in the inferno colormap.
at::Tensor colorize(const at::Tensor& map);

/// The image (uint8 [1 or 3, H, W]) with the coloured map over it: (1 - alpha) image + alpha colour.
at::Tensor blend(const at::Tensor& image, const at::Tensor& colored, double alpha = 0.45);

/// Enlarges a uint8 [C, H, W] image `scale` times with nearest neighbour (pixels stay sharp squares).
at::Tensor enlarge_nearest(const at::Tensor& image, int64_t scale);

/// Enlarges a float [H, W] (or [D, H, W]) map to `size` per axis with (tri)linear interpolation.
at::Tensor enlarge_smooth(const at::Tensor& map, int64_t size);

/// The voxel where a 3D map [D, H, W] is largest, as {depth, row, column}: the axial, coronal and sagittal
/// planes through it are map.select(0, p[0]), map.select(1, p[1]) and map.select(2, p[2]).
std::array<int64_t, 3> peak_voxel(const at::Tensor& map);

}  // namespace mednet::report
