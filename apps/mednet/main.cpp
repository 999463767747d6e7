// mednet: train, evaluate and report medical image classifiers on MedMNIST data.
#include <iostream>

#include <c10/util/Exception.h>

#include "commands.h"
#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/core/strings.h"

namespace mednet::app {
std::vector<std::string>& program_args() {
  static std::vector<std::string> args;
  return args;
}
int& exit_code() {
  static int code = 0;
  return code;
}
}  // namespace mednet::app

int main(int argc, char** argv) {
  mednet::core::keep_freed_memory();
  mednet::app::program_args().assign(argv + 1, argv + argc);
  CLI::App app{"mednet: medical image classification on MedMNIST data (2D and 3D), native C++"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "mednet 0.1.0");
  mednet::app::add_info(app);
  mednet::app::add_fetch(app);
  mednet::app::add_train(app);
  mednet::app::add_eval(app);
  mednet::app::add_evaluate(app);
  mednet::app::add_study(app);
  mednet::app::add_predict(app);
  mednet::app::add_export(app);
  mednet::app::add_experiment(app);
  mednet::app::add_augment(app);
  mednet::app::add_cam(app);
  mednet::app::add_weights(app);
  mednet::app::add_quantize(app);
  mednet::app::add_ensemble(app);
  mednet::app::add_trust(app);
  mednet::app::add_robustness(app);
  mednet::app::add_serve(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const mednet::Error& e) {
    std::cerr << "mednet: error: " << mednet::core::printable_message(e.what()) << "\n";
    return e.kind() == mednet::ErrorKind::Usage ? 2 : 1;
  } catch (const c10::Error& e) {
    std::cerr << "mednet: error: " << mednet::core::printable_message(e.what_without_backtrace()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "mednet: error: " << mednet::core::printable_message(e.what()) << "\n";
    return 1;
  }
  return mednet::app::exit_code();
}
