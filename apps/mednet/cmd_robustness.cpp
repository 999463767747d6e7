// mednet robustness --run DIR --out OUT: a finished run's test scores under MedMNIST-C's corruptions of its
// 2D dataset (CT/MRI artifacts for a 3D one) at five severities.
#include <iomanip>
#include <iostream>
#include <memory>

#include "commands.h"
#include "common_flags.h"
#include "mednet/core/progress.h"
#include "mednet/core/runtime.h"
#include "mednet/trust/robustness_run.h"

namespace mednet::app {

void add_robustness(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "robustness",
      "How a finished run's test scores hold up under MedMNIST-C's corruptions of its 2D dataset (blur, "
      "noise, "
      "JPEG, pixelation, brightness, contrast...) or CT/MRI artifacts of a 3D one (noise, blur, bias field, "
      "ghosting, motion, spike, anisotropy, gamma), each at severities 1 to 5");
  static std::string run_dir, out_dir;
  static int64_t seed = 0, max_images = 0;
  static CommonFlags common;
  cmd->add_option("--run", run_dir,
                  "Run directory written by mednet train, or an ensemble folder (mednet ensemble)")
      ->required();
  cmd->add_option("--out", out_dir,
                  "Folder for robustness.json, robustness.md and the pictures (default: the run's)");
  cmd->add_option("--seed", seed, "Seed of the random corruptions (noise, motion, axes)")
      ->capture_default_str();
  cmd->add_option("--max-images", max_images, "Score only the first N test images (0: all)")
      ->check(CLI::NonNegativeNumber);
  add_common_flags(*cmd, common, "the run's own", /*with_device=*/false);
  cmd->callback([] {
    core::set_threads(common.thread_count());
    trust::RobustnessOptions o;
    o.root = common.root;
    o.check_md5 = !common.skip_md5;
    o.seed = static_cast<uint64_t>(seed);
    o.max_images = max_images;
    std::unique_ptr<core::ProgressBar> bar;
    o.progress = [&bar](int64_t done, int64_t total) {
      if (!bar)
        bar = std::make_unique<core::ProgressBar>(std::cerr, "robustness", total, core::is_terminal(2));
      bar->step();
      (void)done;
    };
    const std::string out = out_dir.empty() ? run_dir : out_dir;
    const trust::RobustnessResult r = trust::robustness_run(run_dir, out, o);
    if (bar) bar->finish();
    std::cout << r.markdown << "\nwrote " << out << "/robustness.json, robustness.md, robustness_auc.png and "
              << "corruptions.png (" << std::fixed << std::setprecision(1) << r.seconds << " s)\n";
  });
}

}  // namespace mednet::app
