#include "common_flags.h"

namespace mednet::app {

void add_data_flags(CLI::App& cmd, CommonFlags& f, const std::string& root_help) {
  cmd.add_option("--root", f.root, "Folder with MedMNIST .npz files (default: " + root_help + ")");
  cmd.add_flag("--skip-md5", f.skip_md5,
               "Do not check files against the official MD5 (own files in the format)");
}

void add_common_flags(CLI::App& cmd, CommonFlags& f, const std::string& root_help, bool with_device) {
  add_data_flags(cmd, f, root_help);
  cmd.add_option("--threads", f.threads, "CPU threads (default: every core)");
  if (with_device) cmd.add_option("--device", f.device, "auto, cpu or cuda");
}

void add_run_length_flags(CLI::App& cmd, RunLengthFlags& f, const std::string& scope) {
  cmd.add_option("--epochs", f.epochs, "Maximum epochs" + scope);
  cmd.add_option("--patience", f.patience,
                 "Early-stopping patience in epochs" + scope + " (0: never stop early)");
}

void apply_run_overrides(const CLI::App& cmd, const CommonFlags& common, const RunLengthFlags& length,
                         run::TrainConfig& cfg) {
  if (cmd.count("--epochs")) cfg.epochs = length.epochs;
  if (cmd.count("--patience")) cfg.patience = length.patience;
  if (cmd.count("--threads")) cfg.threads = common.threads;
  if (cmd.count("--device")) cfg.device = common.device;
  if (cmd.count("--root")) cfg.root = common.root;
}

}  // namespace mednet::app
