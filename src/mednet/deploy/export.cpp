#include "mednet/deploy/export.h"

#include <filesystem>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/deploy/architecture.h"
#include "mednet/deploy/onnx_export.h"
#include "mednet/deploy/onnx_int8.h"
#include "mednet/models/safetensors.h"
#include "mednet/models/weights.h"
#include "mednet/run/open_run.h"

namespace mednet::deploy {

namespace fs = std::filesystem;

ExportFormat parse_export_format(const std::string& name) {
  if (name == "safetensors") return ExportFormat::Safetensors;
  if (name == "onnx") return ExportFormat::Onnx;
  MN_CHECK_USAGE(false, "--format must be safetensors or onnx, got '", name, "'");
  return ExportFormat::Safetensors;
}

std::map<std::string, std::string> export_metadata(const models::ClassifierImpl& model,
                                                   const ExportSource& source) {
  MN_CHECK(source.info, "export: the dataset of the run is not known");
  std::map<std::string, std::string> meta;
  meta["mednet.architecture"] = architecture(model).dump();
  meta["mednet.labels"] = nlohmann::json(source.info->labels).dump();
  meta["mednet.task"] = data::task_name(source.info->task);
  meta["mednet.dataset"] = source.info->flag;
  meta["mednet.size"] = std::to_string(source.size);
  meta["mednet.input"] = input_description(*source.info, source.size);
  if (!source.run_dir.empty()) meta["mednet.run"] = source.run_dir;
  return meta;
}

ExportResult export_safetensors(models::ClassifierImpl& model, const ExportSource& source,
                                const std::string& out) {
  models::StateDict tensors = models::state_dict(model);
  for (auto& [name, t] : tensors)
    if (t.is_floating_point()) t = t.to(at::kFloat).contiguous();
  const std::map<std::string, std::string> meta = export_metadata(model, source);
  models::write_safetensors(out, tensors, meta);
  ExportResult r;
  r.path = out;
  r.tensors = tensors.size();
  r.bytes = static_cast<int64_t>(fs::file_size(out));
  const nlohmann::json arch = architecture(model);
  const std::string kind = arch.at("kind").get<std::string>();
  if (kind == "resnet" || kind == "plain")
    r.notes.push_back("names are torchvision's ResNet names (conv1, bn1, layer1.0.conv1, ..., fc)");
  else if (kind == "vgg16")
    r.notes.push_back(
        "features.* are torchvision's VGG16 names; head.* is mednet's head (see scripts/mednet_torch.py)");
  else
    r.notes.push_back(
        "names follow scripts/mednet_torch.py's Cnn (features.*, head.*: nn.Sequential indices)");
  if (arch.contains("head"))
    r.notes.push_back("CORN head: the network's " + std::to_string(arch.at("classes").get<int64_t>() - 1) +
                      " outputs are conditional logits; scripts/mednet_torch.py turns them into log class "
                      "probabilities");
  r.notes.push_back("input: " + meta.at("mednet.input"));
  return r;
}

ExportResult export_run(const std::string& run_dir, ExportFormat format, const std::string& out) {
  const run::RunFiles files(run_dir);
  if (fs::exists(files.int8_model())) {
    if (format == ExportFormat::Onnx) return export_onnx_int8(run_dir, out);
    core::write_file_atomic(out, core::read_file(files.int8_model()));
    ExportResult r;
    r.path = out;
    r.bytes = static_cast<int64_t>(fs::file_size(out));
    r.notes.push_back(
        "the int8 model file as mednet quantize wrote it (int8 weights, float64 scales; "
        "layout in quant/int8_file.h); --format onnx writes it in the QDQ form");
    return r;
  }
  run::OpenRunOptions o;
  o.load_data = false;
  run::OpenRun r = run::open_run(run_dir, o);
  ExportSource source;
  source.info = r.info;
  source.size = r.config.size;
  source.run_dir = run_dir;
  if (format == ExportFormat::Onnx) return export_onnx(*r.model, source, out);
  return export_safetensors(*r.model, source, out);
}

}  // namespace mednet::deploy
