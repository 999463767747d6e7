// mednet trust --run DIR: calibration, temperature scaling and conformal prediction sets of a finished run.
#include <iostream>

#include "commands.h"
#include "common_flags.h"
#include "mednet/core/runtime.h"
#include "mednet/trust/trust_run.h"

namespace mednet::app {

void add_trust(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "trust",
      "How far to trust a finished run: calibration, temperature scaling, conformal prediction sets");
  static std::string run_dir;
  static trust::TrustOptions o;
  static CommonFlags common;
  cmd->add_option("--run", run_dir, "Run directory written by mednet train")->required();
  cmd->add_option("--coverage", o.coverage, "Coverage of the conformal prediction sets, in (0, 1)")
      ->capture_default_str();
  add_common_flags(*cmd, common, "the run's own", /*with_device=*/false);
  cmd->callback([] {
    core::set_threads(common.thread_count());
    o.root = common.root;
    o.check_md5 = !common.skip_md5;
    const trust::TrustResult t = trust::trust_run(run_dir, o);
    std::cout << t.markdown << "\nwrote " << run_dir << "/calibration.json, trust.json, trust.md"
              << " and reliability.png\n";
  });
}

}  // namespace mednet::app
