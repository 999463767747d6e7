// mednet predict --run DIR INPUT...: a trained model applied to a person's own images or volumes.
#include <cstdio>
#include <iostream>
#include <memory>

#include "commands.h"
#include "common_flags.h"
#include "mednet/core/progress.h"
#include "mednet/core/runtime.h"
#include "mednet/deploy/predict.h"

namespace mednet::app {

void add_predict(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("predict", "Predict on your own files (.png, .jpg, .npy) with a trained run");
  static std::string run_dir, dir, out = "predictions.csv";
  static std::vector<std::string> inputs;
  static CommonFlags common;
  static int batch_size = 256;
  cmd->add_option("--run", run_dir, "Run directory written by mednet train (its best.pt)")->required();
  cmd->add_option("inputs", inputs, "Input files: PNG or JPEG pictures (2D runs), .npy arrays (2D or 3D)");
  cmd->add_option("--dir", dir, "Also every .png, .jpg, .jpeg and .npy in this folder");
  cmd->add_option("--out", out, "The CSV written (one row per input)")->capture_default_str();
  cmd->add_option("--batch-size", batch_size, "Inputs per forward pass")->check(CLI::Range(1, 65536));
  add_common_flags(*cmd, common, "the run's own");
  cmd->callback([] {
    core::set_threads(common.thread_count());
    const std::vector<std::string> paths = deploy::collect_inputs(inputs, dir);
    run::OpenRunOptions o;
    o.load_data = false;
    o.device = core::resolve_device(common.device);
    run::OpenRun r = run::open_run(run_dir, o);
    std::cout << run_dir << ": " << r.config.model.name << " trained on " << r.info->display_name << " "
              << r.config.size << " px (" << r.info->channels << " channel"
              << (r.info->channels > 1 ? "s" : "") << "); " << paths.size() << " input"
              << (paths.size() > 1 ? "s" : "") << "\n";
    std::unique_ptr<core::ProgressBar> bar;
    if (paths.size() >= 200)
      bar = std::make_unique<core::ProgressBar>(std::cerr, "predict", static_cast<int64_t>(paths.size()),
                                                core::is_terminal(2));
    const deploy::PredictOutcome p =
        deploy::predict_files(r, paths, o.device, batch_size, [&](size_t, size_t) {
          if (bar) bar->step();
        });
    if (bar) bar->finish();
    for (const auto& c : p.conversions) std::cout << "conversion: " << c << "\n";
    for (const auto& item : p.items) {
      if (!item.error.empty()) {
        std::cout << "error: " << item.error << "\n";
        continue;
      }
      std::cout << item.path << ": " << p.labels.at(static_cast<size_t>(item.predicted));
      char buf[32];
      std::snprintf(buf, sizeof buf, " (%.3f)", item.probs.at(static_cast<size_t>(item.predicted)));
      std::cout << buf << "\n";
    }
    deploy::write_predictions_csv(out, p);
    std::cout << "wrote " << out << ": " << p.items.size() - p.failed << " predicted, " << p.failed
              << " failed\n";
    if (p.failed > 0) exit_code() = 1;
  });
}

}  // namespace mednet::app
