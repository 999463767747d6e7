#pragma once
// Models by name, built from a spec that lives in experiment files and run directories.
#include <string>
#include <vector>

#include "mednet/data/catalog.h"
#include "mednet/models/classifier.h"

namespace mednet::models {

/// What an experiment file says about the network.
struct ModelSpec {
  std::string name = "cnn";
  std::vector<int64_t> widths{32, 64, 128};
  int convs_per_stage = 1;
  std::vector<int64_t> hidden{256};
  double dropout = 0.5;
  bool global_pool = false;
};

/// Names the registry knows.
std::vector<std::string> model_names();

/// Builds the network for a dataset at a size (channels, outputs and 2D/3D come from the catalog).
Classifier make_model(const ModelSpec& spec, const data::DatasetInfo& info, int size);

}  // namespace mednet::models
