#pragma once
// A float model as a layer list (quant/layers.h) for int8 conversion: the sequential cnn by walking
// its modules, ResNets and their plain (no-shortcut) twins block by block, 2D and 3D, both stems,
// basic and bottleneck blocks.
#include <vector>

#include "mednet/models/classifier.h"
#include "mednet/quant/layers.h"

namespace mednet::quant {

/// The model's layers in computing order (CPU copies, BatchNorm not yet folded). A model family
/// without an int8 form, or a layer that has none, is a usage error that names it.
std::vector<Layer> extract_layers(models::ClassifierImpl& model);

}  // namespace mednet::quant
