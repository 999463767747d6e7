// mednet cam: explanation maps of a trained run (the CAM methods, gradient attributions and occlusion of
// explain/methods.h), as pictures, raw maps and checks of how faithful they are to the model, one method
// or several side by side in a leaderboard; or a gallery file of several runs and methods.
#include <iostream>

#include "commands.h"
#include "common_flags.h"
#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"
#include "mednet/experiments/cam_gallery.h"
#include "mednet/explain/cam_compare.h"
#include "mednet/explain/cam_study.h"
#include "mednet/explain/methods.h"

namespace mednet::app {

void add_cam(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("cam",
                         "Class activation maps of a trained run (Grad-CAM and others), with faithfulness "
                         "checks");
  static explain::CamStudyOptions f;
  static std::string config;
  static std::string methods = "gradcam";
  static CommonFlags common;
  cmd->add_option("--run", f.run, "Run directory written by mednet train");
  cmd->add_option("--config", config,
                  "A gallery file (experiments/exp2c_gradcam.json): several runs and methods");
  cmd->add_option("--out", f.out, "Folder for the pictures, heatmaps.npy and cam.json")->required();
  cmd->add_option("--samples", f.samples, "How many images or volumes")->check(CLI::Range(1, 4096));
  cmd->add_option("--indices", f.indices,
                  "The samples by index in the split, comma separated (instead of --select)")
      ->delimiter(',');
  cmd->add_option("--select", f.select, "first, correct, wrong or per-class (round robin over true classes)")
      ->check(CLI::IsMember({"first", "correct", "wrong", "per-class"}));
  cmd->add_option("--method", methods,
                  "A method, a comma list or all (with several, each goes to OUT/<method>/ and "
                  "leaderboard.md ranks them): " +
                      core::join(explain::cam_method_names(), ", "))
      ->capture_default_str();
  cmd->add_option("--target", f.target,
                  "Class each map explains: predicted (default), true, or a class index");
  cmd->add_option("--layer", f.layer, "Feature map to explain (default: the last convolutional stage)");
  cmd->add_option("--split", f.split, "train, val or test")->check(CLI::IsMember({"train", "val", "test"}));
  cmd->add_option("--display", f.display, "Size of each picture in pixels")->check(CLI::Range(28, 1024));
  cmd->add_option("--seed", f.seed, "Seed of the re-initialised model and of the random deletion order");
  cmd->add_option("--fill", f.fill,
                  "What deleted positions become in the deletion check: black (default), blur or mean (all "
                  "three are printed)")
      ->check(CLI::IsMember({"black", "blur", "mean"}));
  explain::AttributionOptions& a = f.attribution;
  cmd->add_option("--batch", a.batch, "Inputs per forward pass of the many-pass methods")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--smoothgrad-samples", a.smoothgrad_samples, "SmoothGrad: noisy copies per sample")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_option("--smoothgrad-noise", a.smoothgrad_noise,
                  "SmoothGrad: noise standard deviation as a share of the sample's value range")
      ->check(CLI::Range(0.0, 10.0))
      ->capture_default_str();
  cmd->add_option("--ig-steps", a.ig_steps, "Integrated Gradients: points on the path")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cmd->add_option("--occlusion-patch", a.occlusion_patch,
                  "Occlusion: side of the patch in pixels or voxels (default: a quarter of the input's side)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--occlusion-stride", a.occlusion_stride,
                  "Occlusion: step of the patch (default: half of it)")
      ->check(CLI::Range(1, 4096));
  add_common_flags(*cmd, common, "the run's own");
  cmd->callback([] {
    MN_CHECK_USAGE(f.run.empty() != config.empty(), "give either --run DIR or --config GALLERY.json");
    core::set_threads(common.thread_count(), core::resolve_device(common.device));
    f.root = common.root;
    f.device = common.device;
    f.check_md5 = !common.skip_md5;
    f.attribution.seed = static_cast<uint64_t>(f.seed);
    f.progress = true;
    const std::vector<std::string> chosen = explain::parse_cam_methods(methods);
    if (config.empty() && chosen.size() == 1) {
      f.method = chosen[0];
      std::cout << explain::run_cam_study(f).text << std::endl;
    } else if (config.empty()) {
      std::cout << explain::compare_cam_methods(f, chosen, [](const std::string& s) {
        std::cout << s << std::endl;
      }) << std::endl;
    } else {
      MN_CHECK_USAGE(methods == "gradcam", "--method goes with --run; a gallery file lists its \"methods\"");
      const std::string md =
          experiments::run_cam_gallery(config, f, [](const std::string& s) { std::cout << s << std::endl; });
      std::cout << "\n" << md << "\nwrote " << f.out << "/gallery.md\n";
    }
  });
}

}  // namespace mednet::app
