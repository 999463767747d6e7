// mednet predict --run DIR INPUT...: a trained model applied to a person's own images or volumes.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>

#include "commands.h"
#include "common_flags.h"
#include "mednet/core/progress.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"
#include "mednet/deploy/predict.h"
#include "mednet/explain/methods.h"

namespace mednet::app {

void add_predict(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("predict", "Predict on your own files (.png, .jpg, .npy, .nii) with a trained run");
  static std::string run_dir, dir, out = "predictions.csv";
  static std::vector<std::string> inputs;
  static CommonFlags common;
  static deploy::PredictOptions po;
  static std::string cam_dir;
  cmd->add_option("--run", run_dir, "Run directory written by mednet train (its best.pt)")->required();
  cmd->add_option(
      "inputs", inputs,
      "Input files: PNG or JPEG pictures (2D runs), NIfTI volumes .nii/.nii.gz (3D runs), .npy arrays "
      "(2D or 3D)");
  cmd->add_option("--dir", dir, "Also every .png, .jpg, .jpeg, .npy, .nii and .nii.gz in this folder");
  cmd->add_option("--out", out, "The CSV written (one row per input)")->capture_default_str();
  cmd->add_option("--batch-size", po.batch_size, "Inputs per forward pass")->check(CLI::Range(1, 65536));
  cmd->add_option(
         "--cam", po.cam,
         "Also write a map of what the model looked at for the predicted class: an overlay PNG per 2D "
         "input; for 3D a NIfTI map on the input's grid and a PNG of three planes; a method of mednet cam "
         "--method: " +
             core::join(explain::cam_method_names(), ", "))
      ->check(CLI::IsMember(explain::cam_method_names()));
  cmd->add_option("--cam-dir", cam_dir, "Folder for the maps (default: beside --out, <out>_cam)");
  cmd->add_option("--cam-layer", po.cam_layer, "Layer the map is taken at (default: the last stage)");
  static bool uncalibrated = false;
  cmd->add_flag("--uncalibrated", uncalibrated,
                "Ignore the run's calibration.json (mednet trust): the model's own probabilities, no sets");
  static bool no_ood = false;
  cmd->add_option("--ood-score", po.ood_score,
                  "Score that flags inputs unlike the training data, with the run's ood.safetensors (mednet "
                  "trust): msp, energy or mahalanobis")
      ->capture_default_str()
      ->check(CLI::IsMember({"msp", "energy", "mahalanobis"}));
  cmd->add_flag("--no-ood", no_ood, "Do not flag inputs unlike the training data");
  add_common_flags(*cmd, common, "the run's own");
  cmd->callback([] {
    core::set_threads(common.thread_count(), core::resolve_device(common.device));
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
    if (!po.cam.empty()) {
      po.cam_dir = cam_dir;
      if (po.cam_dir.empty()) {
        const std::filesystem::path out_path(out);
        po.cam_dir = (out_path.parent_path() / (out_path.stem().string() + "_cam")).string();
      }
    }
    po.calibrated = !uncalibrated;
    if (no_ood) po.ood_score.clear();
    const deploy::PredictOutcome p = deploy::predict_files(r, paths, o.device, po, [&](size_t, size_t) {
      if (bar) bar->step();
    });
    if (bar) bar->finish();
    for (const auto& c : p.conversions) std::cout << "conversion: " << c << "\n";
    if (p.calibration)
      std::cout << "calibrated by " << run_dir << "/calibration.json: temperature "
                << core::format_fixed(p.calibration->temperature, 3) << ", "
                << deploy::set_name(*p.calibration) << " conformal sets (" << p.calibration->conformal.method
                << ", fitted on " << p.calibration->fitted_size << " " << p.calibration->fitted_on
                << " images)\n";
    if (p.ood)
      std::cout << "out-of-distribution check by " << run_dir << "/ood.safetensors: " << p.ood_score
                << " score, threshold " << core::format_fixed(p.ood->thresholds.at(p.ood_score), 2)
                << " (passes " << core::format_fixed(100 * p.ood->pass_rate, 0) << "% of "
                << p.ood->fitted_size << " " << p.ood->fitted_on << " images)\n";
    for (const auto& item : p.items) {
      if (!item.error.empty()) {
        std::cout << "error: " << core::printable_message(item.error) << "\n";
        continue;
      }
      std::cout << item.path << ": " << p.labels.at(static_cast<size_t>(item.predicted));
      char buf[32];
      std::snprintf(buf, sizeof buf, " (%.3f)", item.probs.at(static_cast<size_t>(item.predicted)));
      std::cout << buf;
      if (p.calibration)
        std::cout << "; " << deploy::set_name(*p.calibration) << " set: " << deploy::set_text(p, item);
      if (item.unlike) std::cout << "; " << deploy::ood_text(p, item);
      if (!item.maps.empty()) {
        std::cout << "; map " << item.maps.front();
        if (item.map_zero)
          std::cout << " (zero everywhere: no positive evidence for this class at that layer)";
        else if (item.peak.size() == 3)
          std::cout << " (peak at voxel x " << item.peak[0] << ", y " << item.peak[1] << ", z "
                    << item.peak[2] << ")";
      }
      if (!item.map_error.empty()) std::cout << "; map not written: " << item.map_error;
      std::cout << "\n";
    }
    deploy::write_predictions_csv(out, p);
    std::cout << "wrote " << out << ": " << p.items.size() - p.failed << " predicted, " << p.failed
              << " failed\n";
    if (!po.cam.empty())
      std::cout << "maps (" << po.cam << ") in " << po.cam_dir << ": "
                << p.items.size() - p.failed - p.maps_failed << " written, " << p.maps_failed << " failed\n";
    if (p.failed > 0 || p.maps_failed > 0) exit_code() = 1;
  });
}

}  // namespace mednet::app
