#pragma once
// What a network is, spelled out for a reader outside mednet: its kind and every option that shapes it
// (widths, stems, heads), and what its input is. Written into exported files so that scripts/mednet_torch.py
// (or anyone) can rebuild the same network without mednet's config files.
#include <string>

#include <nlohmann/json.hpp>

#include "mednet/data/catalog.h"
#include "mednet/models/classifier.h"

namespace mednet::deploy {

/// {"kind": "cnn"|"resnet"|"plain"|"vgg16", "spatial_dims", "in_channels", "classes", ...the kind's
/// options}. A network kind export does not know is an error naming it. A CORN head adds "head": "corn";
/// "classes" stays the class count K and the network itself has K - 1 outputs (models/ordinal_head.h).
nlohmann::json architecture(const models::ClassifierImpl& model);

/// The input a network takes, in words: "float32 [N, C, H, W] = uint8 image / 127.5 - 1 ...".
std::string input_description(const data::DatasetInfo& info, int size);

}  // namespace mednet::deploy
