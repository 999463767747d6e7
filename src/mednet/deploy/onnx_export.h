#pragma once
// A network as an ONNX graph (opset 13): each LibTorch layer becomes the ONNX operator that computes
// the same thing in evaluation mode (dropout drops out), with the state-dict names as initializer
// names. Input "input" (float32, see deploy::input_description), output "logits" [N, classes].
#include <string>

#include "mednet/deploy/export.h"
#include "mednet/deploy/onnx_graph.h"

namespace mednet::deploy {

constexpr int kOnnxOpset = 13;

/// The graph of a cnn, resnet, plain or vgg16 network for inputs of the given spatial size.
OnnxGraph onnx_graph(models::ClassifierImpl& model, int64_t in_channels, int size);

/// VGG16's input preparation (models::prepare_vgg_input) as nodes: grayscale repeated to 3 channels,
/// bilinear Resize to input_size (none when 0 or equal to size), ImageNet normalisation as a per-channel
/// affine map. Returns the prepared tensor's name.
std::string prepare_vgg_nodes(OnnxGraph& g, const std::string& x, int64_t in_channels, int64_t input_size,
                              bool imagenet_norm, int size);

/// Writes the model's graph with the export metadata (as export_safetensors) to out.
ExportResult export_onnx(models::ClassifierImpl& model, const ExportSource& source, const std::string& out);

}  // namespace mednet::deploy
