#pragma once
// Flags several commands share, declared once: --root, --threads, --device, --skip-md5, and the
// overrides that may change when a run is continued (--epochs, --patience and the where-to-run flags).
#include <string>

#include <CLI/CLI.hpp>

#include "mednet/run/config.h"

namespace mednet::app {

/// The value of a numeric flag that was not given.
constexpr int kNotGiven = -1;

struct CommonFlags {
  std::string root;
  int threads = kNotGiven;  ///< kNotGiven: every core
  std::string device = "auto";
  bool skip_md5 = false;
  /// The thread count for core::set_threads (0: every core).
  int thread_count() const { return threads == kNotGiven ? 0 : threads; }
};

/// Adds --root, --threads, --device (when with_device) and --skip-md5. root_help says where files
/// are looked for by default.
void add_common_flags(CLI::App& cmd, CommonFlags& f, const std::string& root_help, bool with_device = true);
/// Adds only where the data comes from: --root and --skip-md5 (commands that train nothing).
void add_data_flags(CLI::App& cmd, CommonFlags& f, const std::string& root_help);

/// How long a run goes on: --epochs and --patience.
struct RunLengthFlags {
  int epochs = kNotGiven;
  int patience = kNotGiven;
};
void add_run_length_flags(CLI::App& cmd, RunLengthFlags& f, const std::string& scope);

/// Applies the flags given on cmd that may change when a run continues (--epochs, --patience,
/// --threads, --device, --root) to cfg.
void apply_run_overrides(const CLI::App& cmd, const CommonFlags& common, const RunLengthFlags& length,
                         run::TrainConfig& cfg);

}  // namespace mednet::app
