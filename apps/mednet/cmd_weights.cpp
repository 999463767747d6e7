// mednet weights fetch|list: ImageNet backbones for transfer learning, cached in ~/.cache/mednet.
#include <filesystem>
#include <iostream>

#include "commands.h"
#include "console.h"
#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/data/download.h"
#include "mednet/models/pretrained.h"
#include "mednet/models/weights.h"

namespace mednet::app {

namespace {

void fetch(const std::string& model, const std::string& url_flag, const std::string& sha256) {
  const auto& w = models::find_pretrained(model);
  const std::string dest = models::cached_weights_path(model);
  const std::string url = url_flag.empty() ? w.url : url_flag;
  if (std::filesystem::exists(dest)) {
    std::cout << dest << " is already there";
    if (data::md5_available()) std::cout << " (SHA-256 " << data::sha256_file(dest) << ")";
    std::cout << "\n";
    return;
  }
  if (!data::download_available()) {
    std::cout << "This build cannot download (built without libcurl). Download\n  " << url
              << "\nand save it as\n  " << dest << "\n";
    exit_code() = 1;
    return;
  }
  core::install_interrupt_handler();
  std::cout << "downloading " << w.source << "\n  from " << url << "\n  to " << dest << std::endl;
  DownloadBar bar;
  const std::string digest =
      data::download_file_sha256(url, dest, sha256.empty() ? w.sha256 : sha256, bar.progress_fn());
  bar.finish();
  // A file that downloads but does not read as weights must not stay in the cache.
  try {
    const auto sd = models::read_state_dict(dest);
    std::cout << "saved " << dest << " (SHA-256 " << digest << " verified, " << sd.size() << " tensors)\n";
  } catch (const Error&) {
    std::filesystem::remove(dest);
    throw;
  }
}

}  // namespace

void add_weights(CLI::App& app) {
  auto* cmd = app.add_subcommand("weights", "Pretrained (ImageNet) backbones: fetch or list them");
  cmd->require_subcommand(1);
  auto* fetch_cmd = cmd->add_subcommand("fetch", "Download a model's ImageNet weights into the cache");
  static std::string model, url, sha256;
  fetch_cmd->add_option("model", model, "Model name, for example vgg16")->required();
  fetch_cmd->add_option("--url", url, "Download from this address instead (a mirror)");
  fetch_cmd->add_option("--sha256", sha256,
                        "Expected SHA-256 (default: the digest the server publishes for the file)");
  fetch_cmd->callback([] { fetch(model, url, sha256); });
  auto* list_cmd = cmd->add_subcommand("list", "Known weights and whether they are in the cache");
  list_cmd->callback([] {
    for (const auto& w : models::pretrained_weights()) {
      const std::string path = models::cached_weights_path(w.model);
      std::cout << w.model << ": " << w.source << "\n  " << w.url << "\n  "
                << (std::filesystem::exists(path) ? "cached: " : "not fetched (would go to ") << path
                << (std::filesystem::exists(path) ? "" : ")") << "\n";
    }
  });
}

}  // namespace mednet::app
