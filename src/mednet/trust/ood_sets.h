#pragma once
// The inputs a run's out-of-distribution scores are tested against, each shaped like the run's splits
// (uint8 [N, C, S, S] or [N, C, S, S, S]):
//   uniform noise  every voxel drawn from 0..255 (seeded)
//   blank          images of one intensity each, evenly spread from 0 (black) to 255 (white)
//   <Dataset>      the test split of every other MedMNIST file in the run's data folder, converted as
//                  `mednet predict` converts a person's file (data::conform: channels and size); a 3D
//                  file's middle slices for a 2D run, a 2D picture repeated along depth for a 3D run
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/data/catalog.h"

namespace mednet::trust {

struct OodSet {
  std::string name;
  std::string source;  ///< what it is made of: "generated", or the file and its conversion
  at::Tensor images;
};

struct OodSetOptions {
  int64_t synthetic = 200;  ///< images of noise and of blank
  int64_t per_file = 500;   ///< at most this many test images of each other file (the first ones)
  bool check_md5 = true;
  uint64_t seed = 0;
};

/// The sets for a run of dataset `info` at `size` whose file lies in data_folder. Another file that cannot
/// be read is skipped and reported through skipped (its name and why).
std::vector<OodSet> ood_sets(const data::DatasetInfo& info, int size, const std::string& data_folder,
                             const OodSetOptions& o = {},
                             const std::function<void(const std::string&)>& skipped = {});

}  // namespace mednet::trust
