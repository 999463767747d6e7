// mednet export --run DIR --format safetensors|onnx --out FILE: a trained run for PyTorch and ONNX users.
#include <iostream>

#include "commands.h"
#include "mednet/deploy/export.h"

namespace mednet::app {

void add_export(CLI::App& app) {
  auto* cmd = app.add_subcommand("export", "Write a trained run as .safetensors (PyTorch) or .onnx");
  static std::string run_dir, format = "safetensors", out;
  cmd->add_option("--run", run_dir, "Run directory written by mednet train (or mednet quantize)")->required();
  cmd->add_option("--format", format, "safetensors or onnx")->capture_default_str();
  cmd->add_option("--out", out, "File written")->required();
  cmd->callback([] {
    const deploy::ExportResult r = deploy::export_run(run_dir, deploy::parse_export_format(format), out);
    std::cout << "wrote " << r.path << ": " << r.bytes << " bytes";
    if (r.tensors > 0) std::cout << ", " << r.tensors << " tensors";
    std::cout << "\n";
    for (const auto& n : r.notes) std::cout << "  " << n << "\n";
  });
}

}  // namespace mednet::app
