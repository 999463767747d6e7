#pragma once
// A trained run written for users outside mednet: its weights as .safetensors (torchvision's names for
// the ResNets and VGG16's features; scripts/mednet_torch.py rebuilds every kind in PyTorch), or the
// network as an ONNX graph (deploy/onnx_export.h). Both carry the architecture, the labels and what
// the input is.
#include <map>
#include <string>
#include <vector>

#include "mednet/data/catalog.h"
#include "mednet/models/classifier.h"

namespace mednet::deploy {

enum class ExportFormat { Safetensors, Onnx };

/// safetensors | onnx; anything else is a usage error naming --format.
ExportFormat parse_export_format(const std::string& name);

/// What an exported file says about where the network came from.
struct ExportSource {
  const data::DatasetInfo* info = nullptr;
  int size = 28;
  std::string run_dir;
};

struct ExportResult {
  std::string path;
  int64_t bytes = 0;
  size_t tensors = 0;  ///< weight tensors written
  std::vector<std::string> notes;
};

/// What every exported file carries: "mednet.architecture" (JSON, deploy/architecture.h),
/// "mednet.labels" (JSON list), "mednet.task", "mednet.dataset", "mednet.size", "mednet.input" and the
/// run folder ("mednet.run").
std::map<std::string, std::string> export_metadata(const models::ClassifierImpl& model,
                                                   const ExportSource& source);

/// The model's parameters and buffers under their state-dict names (float32; BatchNorm's
/// num_batches_tracked as int64), with export_metadata as "__metadata__".
ExportResult export_safetensors(models::ClassifierImpl& model, const ExportSource& source,
                                const std::string& out);

/// A run folder (best.pt, or an int8 folder's model_int8.safetensors: copied as it is, or as QDQ ONNX,
/// deploy/onnx_int8.h) exported to out.
ExportResult export_run(const std::string& run_dir, ExportFormat format, const std::string& out);

}  // namespace mednet::deploy
