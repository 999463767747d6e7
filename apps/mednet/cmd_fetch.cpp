// mednet fetch FLAG [--size N]: download an official MedMNIST file with progress and an MD5 check.
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "console.h"
#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/data/catalog.h"
#include "mednet/data/dataset.h"
#include "mednet/data/download.h"

namespace mednet::app {

void add_fetch(CLI::App& app) {
  auto* cmd = app.add_subcommand("fetch", "Download an official MedMNIST file (MD5-checked)");
  static std::string flag, root, url;
  static int size = 28;
  cmd->add_option("flag", flag, "Dataset flag, for example adrenalmnist3d")->required();
  cmd->add_option("--size", size, "Image size: 28, 64, 128 or 224 (3D: 28 or 64)");
  cmd->add_option("--root", root, "Destination folder (default: $MEDMNIST_ROOT, then ~/.medmnist)");
  cmd->add_option("--url", url, "Download from this address instead of the official one (a mirror)");
  cmd->callback([] {
    const auto& info = data::find_dataset(flag);
    const auto& file = info.file(size);
    const auto roots = data::root_candidates(root);
    MN_CHECK_USAGE(!roots.empty(), "no destination: pass --root or set MEDMNIST_ROOT or HOME");
    const std::string dest = (std::filesystem::path(roots.front()) / info.file_name(size)).string();
    const std::string from = url.empty() ? info.url(size) : url;
    if (std::filesystem::exists(dest)) {
      data::verify_md5(dest, file.md5);
      std::cout << dest << " is already there and matches the official MD5\n";
      return;
    }
    if (!data::download_available()) {
      std::cout << "This build cannot download (built without libcurl). Download\n  " << from
                << "\nand save it as\n  " << dest << "\n(MD5 " << file.md5 << ")\n";
      exit_code() = 1;
      return;
    }
    core::install_interrupt_handler();
    std::cout << "downloading " << from << "\n  to " << dest << "\n";
    DownloadBar bar;
    data::download_file(from, dest, file.md5, bar.progress_fn());
    bar.finish();
    std::cout << "saved " << dest << " (MD5 " << file.md5 << " verified)\n";
  });
}

}  // namespace mednet::app
