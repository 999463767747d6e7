#pragma once
// What a network needs to know about its input and output; data/catalog.h makes it from a dataset.
namespace mednet::data {

struct InputShape {
  int channels = 1;
  int spatial_dims = 2;  ///< 2 (images) or 3 (volumes)
  int size = 28;         ///< pixels (or voxels) per side
  int outputs = 2;       ///< classes, or labels for multi-label
};

}  // namespace mednet::data
