// mednet info [FLAG]: the dataset catalog, or one dataset with what is on disk.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "commands.h"
#include "mednet/core/error.h"
#include "mednet/core/strings.h"
#include "mednet/data/catalog.h"
#include "mednet/data/dataset.h"
#include "mednet/data/npy.h"
#include "mednet/report/benchmarks.h"

namespace mednet::app {

namespace {

void print_catalog() {
  std::printf("%-16s %-26s %2s %2s %-14s %8s %7s %7s\n", "flag", "task", "ch", "D", "sizes", "train", "val",
              "test");
  for (const auto& d : data::catalog()) {
    std::printf("%-16s %-26s %2d %2d %-14s %8lld %7lld %7lld\n", d.flag.c_str(),
                data::task_name(d.task).c_str(), d.channels, d.spatial_dims(),
                core::join(d.sizes(), "/").c_str(), static_cast<long long>(d.n_train),
                static_cast<long long>(d.n_val), static_cast<long long>(d.n_test));
  }
  std::printf("\n%zu datasets. `mednet info FLAG` shows one, with its files.\n", data::catalog().size());
}

void print_dataset(const data::DatasetInfo& d, const std::string& root) {
  std::printf("%s (%s)\n", d.display_name.c_str(), d.flag.c_str());
  std::printf("  task:      %s\n", data::task_name(d.task).c_str());
  std::printf("  images:    %dD, %d channel%s\n", d.spatial_dims(), d.channels, d.channels == 1 ? "" : "s");
  std::printf("  labels:   ");
  for (size_t i = 0; i < d.labels.size(); ++i)
    std::printf(" %zu=%s%s", i, d.labels[i].c_str(), i + 1 < d.labels.size() ? "," : "");
  std::printf("\n  samples:   train %lld, val %lld, test %lld\n", static_cast<long long>(d.n_train),
              static_cast<long long>(d.n_val), static_cast<long long>(d.n_test));
  std::printf("  license:   %s\n", d.license.c_str());
  std::printf("%s", report::published_table(d.flag).c_str());
  for (int size : d.sizes()) {
    std::printf("  size %-4d %s  md5 %s\n", size, d.file_name(size).c_str(), d.file(size).md5.c_str());
    std::printf("            %s\n", d.url(size).c_str());
    std::string path;
    try {
      path = data::locate_file(d, size, root);
    } catch (const Error&) {
      std::printf("            not on this machine\n");
      continue;
    }
    std::printf("            found: %s\n", path.c_str());
    try {
      data::NpzReader npz(path);
      for (auto split : {data::Split::Train, data::Split::Val, data::Split::Test}) {
        const data::SplitData s = data::read_split(npz, d, size, split);
        const int64_t want = d.split_size(split);
        std::printf("            %-5s %6lld samples%s\n", data::split_name(split).c_str(),
                    static_cast<long long>(s.size()),
                    s.size() == want ? "" : ("  (catalog says " + std::to_string(want) + ")").c_str());
      }
    } catch (const Error& e) {
      std::printf("            unreadable: %s\n", e.what());
      std::fflush(stdout);
      std::fprintf(stderr, "mednet: error: %s is unreadable\n", path.c_str());
      exit_code() = 1;  // the listing goes on; the command reports the damaged file
    }
  }
}

}  // namespace

void add_info(CLI::App& app) {
  auto* cmd = app.add_subcommand("info", "List the MedMNIST catalog, or describe one dataset and its files");
  static std::string flag, root;
  cmd->add_option("flag", flag, "Dataset flag, for example adrenalmnist3d");
  cmd->add_option("--root", root,
                  "Folder with MedMNIST .npz files (default: $MEDMNIST_ROOT, then ~/.medmnist)");
  cmd->callback([] {
    if (flag.empty()) {
      print_catalog();
    } else {
      print_dataset(data::find_dataset(flag), root);
    }
  });
}

}  // namespace mednet::app
