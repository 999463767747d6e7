// mednet trust --run DIR: calibration, temperature scaling, conformal prediction sets and
// out-of-distribution flags of a finished run.
#include <iostream>

#include "commands.h"
#include "common_flags.h"
#include "mednet/core/runtime.h"
#include "mednet/trust/trust_run.h"

namespace mednet::app {

void add_trust(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "trust",
      "How far to trust a finished run: calibration, temperature scaling, conformal prediction sets, "
      "out-of-distribution flags");
  static std::string run_dir;
  static trust::TrustOptions o;
  static CommonFlags common;
  cmd->add_option("--run", run_dir, "Run directory written by mednet train")->required();
  cmd->add_option("--coverage", o.coverage, "Coverage of the conformal prediction sets, in (0, 1)")
      ->capture_default_str();
  static bool no_ood = false;
  cmd->add_flag("--no-ood", no_ood,
                "Skip the out-of-distribution check (it runs the model on the splits and on noise, blank "
                "pictures and the other MedMNIST files in the data folder)");
  add_common_flags(*cmd, common, "the run's own", /*with_device=*/false);
  cmd->callback([] {
    core::set_threads(common.thread_count());
    o.root = common.root;
    o.check_md5 = !common.skip_md5;
    o.ood = !no_ood;
    o.progress = [](const std::string& line) { std::cerr << line << "\n"; };
    const trust::TrustResult t = trust::trust_run(run_dir, o);
    std::cout << t.markdown << "\nwrote " << run_dir << "/calibration.json, trust.json, trust.md"
              << (t.ood ? ", ood.safetensors" : "") << " and reliability.png\n";
  });
}

}  // namespace mednet::app
