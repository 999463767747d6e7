// mednet quantize: int8 models of a trained run (dynamic range, full integer, quantization-aware
// training), or every model and variant of an experiment file (Experiment 2D).
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "common_flags.h"
#include "console.h"
#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/experiments/quant_experiment.h"
#include "mednet/quant/quantize_run.h"
#include "mednet/report/plot.h"

namespace mednet::app {

namespace {

struct QuantizeFlags {
  std::string run, config, out, mode, observer = "minmax";
  int64_t calib = 512;
  int qat_epochs = 3;
  double qat_lr = 0;
  CommonFlags common;
  bool no_latency = false;
};

void print_kernels(const std::vector<quant::KernelInfo>& kernels) {
  std::cout << "\nlayers:\n";
  int in_float = 0;
  for (const auto& k : kernels) {
    std::cout << "  " << (k.int8 ? "int8   " : "FLOAT  ") << k.layer << ": " << k.kernel << "\n";
    in_float += k.int8 ? 0 : 1;
  }
  if (in_float > 0) std::cout << in_float << " layer(s) compute in float (named above)\n";
}

}  // namespace

void add_quantize(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("quantize", "Int8 models of a trained run: dynamic, static (full integer) or qat");
  static QuantizeFlags f;
  cmd->add_option("--run", f.run, "Run directory written by mednet train (its best.pt is converted)");
  cmd->add_option("--config", f.config,
                  "An experiment file (experiments/exp2d_quant.json): several runs and modes");
  cmd->add_option("--mode", f.mode, "dynamic, static or qat (with --run)");
  cmd->add_option("--calib", f.calib, "Training samples that calibrate activation ranges (static, qat)")
      ->capture_default_str();
  cmd->add_option("--observer", f.observer, "minmax or percentile (0.01-99.99%)")->capture_default_str();
  cmd->add_option("--qat-epochs", f.qat_epochs, "Fine-tuning epochs of quantization-aware training")
      ->capture_default_str();
  cmd->add_option("--qat-lr", f.qat_lr,
                  "Learning rate of quantization-aware training (default: the run's / 10)");
  cmd->add_option("--out", f.out, "Output directory")->required();
  add_common_flags(*cmd, f.common, "the run's own", /*with_device=*/false);
  cmd->add_flag("--no-latency", f.no_latency, "Skip the latency measurements");
  cmd->callback([] {
    MN_CHECK_USAGE(f.run.empty() != f.config.empty(), "give either --run DIR or --config EXPERIMENT.json");
    core::set_threads(f.common.thread_count());
    auto log = [](const std::string& s) { std::cout << s << std::endl; };
    if (!f.config.empty()) {
      experiments::QuantExperiment e = experiments::load_quant_experiment(f.config);
      if (f.no_latency) e.latency.enabled = false;
      const auto results =
          experiments::run_quant_experiment(e, f.out, f.common.root, !f.common.skip_md5, log);
      std::cout << "\n";
      for (const auto& r : results) {
        std::cout << "## " << r.entry.label << "\n" << quant::rows_table(r.rows);
        for (const auto& c : experiments::target_checks(r.rows, e.variants)) std::cout << "  " << c << "\n";
        std::cout << "\n";
      }
      std::cout << "wrote " << f.out << "/summary.md and summary.json";
      if (report::plots_available())
        std::cout << ", size_vs_auc.png" << (e.latency.enabled ? ", latency_vs_auc.png" : "");
      else
        std::cout << " (no plots: built without cairo)";
      std::cout << "\n";
      return;
    }
    MN_CHECK_USAGE(!f.mode.empty(), "--mode is required with --run (dynamic, static or qat)");
    quant::QuantizeOptions o;
    o.mode = quant::parse_method(f.mode);
    o.calib = f.calib;
    o.observer = f.observer;
    o.qat_epochs = f.qat_epochs;
    o.qat_lr = f.qat_lr;
    o.latency.enabled = !f.no_latency;
    MN_CHECK_USAGE(o.mode == quant::Method::Dynamic || o.calib >= 1, "--calib ", o.calib,
                   ": calibration needs at least 1 training sample");
    quant::LoadedRun run = quant::load_run(f.run, f.common.root, !f.common.skip_md5);
    std::cout << f.run << " (" << run.config.model.name << " on " << run.info->display_name << " "
              << run.config.size << "): " << quant::method_name(o.mode) << " int8, engine "
              << quant::quantized_engine() << ", " << at::get_num_threads() << " threads" << std::endl;
    const quant::Row fp32 = quant::fp32_row(run, o.latency);
    const quant::QuantizeResult r = quant::quantize_run(run, o, f.out, &fp32, log);
    print_kernels(r.kernels);
    std::cout << "\n"
              << quant::rows_table({fp32, r.row}) << "\nwrote " << r.model_path << " and " << f.out
              << "/quant.json; evaluate with: mednet eval --run " << f.out << "\n";
  });
}

}  // namespace mednet::app
