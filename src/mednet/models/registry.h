#pragma once
// Models by name, built from a spec that lives in experiment files and run directories.
#include <string>
#include <vector>

#include "mednet/data/catalog.h"
#include "mednet/models/classifier.h"

namespace mednet::models {

/// What an experiment file says about the network. Empty widths and a negative dropout mean the
/// model's own defaults (cnn: widths 32/64/128, dropout 0.5; resnet: 64/128/256/512, no dropout).
struct ModelSpec {
  std::string name = "cnn";  ///< cnn | vgg16 | resnet18 | resnet34 | resnet50 | plain18 | plain34 ...
  std::vector<int64_t> widths;
  int convs_per_stage = 1;           ///< cnn only
  std::vector<int64_t> hidden{256};  ///< cnn and vgg16 (dense layers of the head)
  double dropout = -1;
  bool global_pool = false;    ///< cnn only
  std::string stem = "auto";   ///< resnet: auto (small at <= 32 px) | small | standard
  int input_size = 0;          ///< vgg16: images are resized to this (0 = 64)
  bool imagenet_norm = false;  ///< vgg16: ImageNet mean/std normalisation (pretrained backbones)
};

/// Names the registry knows.
std::vector<std::string> model_names();

/// Checks the spec's name and values (a usage error names the field).
void validate(const ModelSpec& spec);

/// Builds the network for a dataset at a size (channels, outputs and 2D/3D come from the catalog).
Classifier make_model(const ModelSpec& spec, const data::DatasetInfo& info, int size);

}  // namespace mednet::models
