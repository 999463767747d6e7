#pragma once
// Models by name, built from a spec that lives in experiment files and run directories.
#include <string>
#include <vector>

#include <functional>

#include "mednet/data/input_shape.h"
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
  /// Output head: "softmax" (K logits) or "corn" (K - 1 conditional logits turned into K class
  /// probabilities, models/ordinal_head.h; ordinal tasks). Any model.
  std::string head = "softmax";
};

/// One row of the registry: a new model is one entry in registry.cpp's table.
struct ModelEntry {
  std::string name;
  std::function<Classifier(const ModelSpec&, const data::InputShape&)> build;
  /// ModelSpec keys the model reads (besides "name"); another key with a non-default value is a
  /// usage error naming it.
  std::vector<std::string> option_keys;
};

/// The registry table, in the order `mednet` lists the models.
const std::vector<ModelEntry>& model_registry();

/// Names the registry knows.
std::vector<std::string> model_names();

/// Checks the spec's name and values (a usage error names the field).
void validate(const ModelSpec& spec);

/// Builds the network for an input shape (data::input_shape makes one from a dataset and size).
Classifier make_model(const ModelSpec& spec, const data::InputShape& shape);

}  // namespace mednet::models
