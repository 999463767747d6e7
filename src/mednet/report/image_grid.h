#pragma once
// Pictures for people: a grid of images with a caption under each, enlarged with nearest-neighbour
// sampling so that 28-px images stay readable (cairo; see plots_available()).
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace mednet::report {

struct Tile {
  at::Tensor image;  ///< uint8 [1, H, W] (grey) or [3, H, W] (RGB)
  std::string caption;
};

/// Writes the tiles row by row, cols per row, each enlarged scale times, under a title.
void save_image_grid(const std::vector<Tile>& tiles, int cols, int scale, const std::string& title,
                     const std::string& path);

/// The middle slice along each of the three axes of a [C, D, H, W] volume, as [C, *, *] images.
std::vector<at::Tensor> middle_slices(const at::Tensor& volume);

}  // namespace mednet::report
