#pragma once
// One function per subcommand: each adds its options to the parser and sets its callback.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace mednet::app {

void add_info(CLI::App& app);
void add_fetch(CLI::App& app);
void add_train(CLI::App& app);
void add_eval(CLI::App& app);
void add_evaluate(CLI::App& app);
void add_study(CLI::App& app);
void add_predict(CLI::App& app);
void add_export(CLI::App& app);
void add_experiment(CLI::App& app);
void add_augment(CLI::App& app);
void add_cam(CLI::App& app);
void add_weights(CLI::App& app);
void add_quantize(CLI::App& app);
void add_ensemble(CLI::App& app);
void add_trust(CLI::App& app);
void add_robustness(CLI::App& app);
void add_serve(CLI::App& app);

/// Exit code of an interrupted command (128 + SIGINT, as shells report it).
constexpr int kExitInterrupted = 130;

/// The command line after the program name, as given (a launcher restarts the program with it).
std::vector<std::string>& program_args();

/// Set by a subcommand that wants a code other than 0 on success paths (for example 130).
int& exit_code();

}  // namespace mednet::app
