#include "mednet/data/dataset.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/runtime.h"
#include "mednet/data/download.h"
#include "mednet/data/npy.h"

namespace mednet::data {

namespace fs = std::filesystem;

std::vector<std::string> root_candidates(const std::string& cli_root) {
  std::vector<std::string> roots;
  if (!cli_root.empty()) roots.push_back(cli_root);
  if (const char* env = std::getenv("MEDMNIST_ROOT"); env && *env) roots.emplace_back(env);
  if (const char* home = std::getenv("HOME"); home && *home)
    roots.push_back(std::string(home) + "/.medmnist");
  return roots;
}

std::string locate_file(const DatasetInfo& info, int size, const std::string& cli_root) {
  const std::string name = info.file_name(size);
  std::string searched;
  for (const auto& root : root_candidates(cli_root)) {
    const fs::path p = fs::path(root) / name;
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
    searched += "\n  " + p.string();
  }
  MN_CHECK(false, "cannot find ", name, " for ", info.display_name, " (size ", size,
           "); looked in:", searched, "\nGet it with `mednet fetch ", info.flag,
           size == 28 ? "" : " --size " + std::to_string(size), "`, or download ", info.url(size),
           " and pass its folder with --root or MEDMNIST_ROOT");
  return {};
}

namespace {
std::string file_stamp(const std::string& path) {
  struct stat st {};
  MN_CHECK(::stat(path.c_str(), &st) == 0, "cannot stat ", path);
  std::ostringstream os;
  os << fs::absolute(path).string() << '\t' << st.st_size << '\t' << st.st_mtim.tv_sec << '.'
     << st.st_mtim.tv_nsec;
  return os.str();
}
}  // namespace

Md5Status verify_md5(const std::string& path, const std::string& expected) {
  const std::string ledger = core::cache_dir() + "/verified.tsv";
  const std::string stamp = file_stamp(path) + '\t' + expected;
  {
    std::ifstream in(ledger);
    std::string line;
    while (std::getline(in, line))
      if (line == stamp) return Md5Status::Remembered;
  }
  if (!md5_available()) return Md5Status::Unavailable;
  const std::string got = md5_file(path);
  MN_CHECK(got == expected, path, " has MD5 ", got, " but the official file has ", expected,
           ": the file is damaged or not the official release; download it again (mednet fetch)");
  std::error_code ec;
  fs::create_directories(core::cache_dir(), ec);
  std::ofstream out(ledger, std::ios::app);  // best effort: a read-only home only costs a re-check
  if (out) out << stamp << '\n';
  return Md5Status::Verified;
}

SplitData read_split(NpzReader& npz, const DatasetInfo& info, int size, Split split) {
  const std::string s = split_name(split);
  at::Tensor images = npz.read(s + "_images");
  at::Tensor labels = npz.read(s + "_labels");
  const std::string where = npz.path() + ": " + s;
  MN_CHECK(images.size(0) == labels.size(0), where, "_images has ", images.size(0), " samples but ", s,
           "_labels has ", labels.size(0));
  MN_CHECK(images.scalar_type() == at::kByte, where, "_images has dtype ", images.scalar_type(),
           ", expected uint8 images");

  // Channel-first layout: 2D files hold (N, H, W) or (N, H, W, C); 3D files (N, D, H, W).
  if (info.volumetric) {
    MN_CHECK(images.dim() == 4, where, "_images has ", images.dim(), " dimensions, expected (N, D, H, W)");
    images = images.unsqueeze(1);
  } else if (images.dim() == 3) {
    images = images.unsqueeze(1);
  } else {
    MN_CHECK(images.dim() == 4, where, "_images has ", images.dim(), " dimensions, expected (N, H, W[, C])");
    images = images.permute({0, 3, 1, 2}).contiguous();
  }
  MN_CHECK(images.size(1) == info.channels, where, "_images has ", images.size(1), " channels, ",
           info.display_name, " has ", info.channels);
  for (int64_t d = 2; d < images.dim(); ++d) {
    MN_CHECK(images.size(d) == size, where, "_images are ", images.sizes(), ", expected spatial size ", size);
  }

  if (labels.dim() == 1) labels = labels.unsqueeze(1);
  MN_CHECK(labels.dim() == 2 && labels.size(1) == info.label_columns(), where, "_labels have shape ",
           labels.sizes(), ", expected (N, ", info.label_columns(), ")");
  MN_CHECK(!labels.is_floating_point() || torch::equal(labels, labels.round()), where,
           "_labels are not whole numbers");
  labels = labels.to(at::kLong);
  if (labels.numel() > 0) {
    const int64_t hi = info.task == Task::MultiLabel ? 1 : info.num_outputs() - 1;
    const int64_t lo_seen = labels.min().item<int64_t>();
    const int64_t hi_seen = labels.max().item<int64_t>();
    MN_CHECK(lo_seen >= 0 && hi_seen <= hi, where, "_labels range over [", lo_seen, ", ", hi_seen,
             "], expected [0, ", hi, "]");
  }
  return {images, labels};
}

MedMnist load_medmnist(const DatasetInfo& info, int size, const std::string& path) {
  NpzReader npz(path);
  MedMnist m;
  m.info = &info;
  m.size = size;
  m.path = path;
  m.train = read_split(npz, info, size, Split::Train);
  m.val = read_split(npz, info, size, Split::Val);
  m.test = read_split(npz, info, size, Split::Test);
  return m;
}

MedMnist open_medmnist(const DatasetInfo& info, int size, const std::string& cli_root, Md5Status* md5,
                       bool check_md5) {
  const std::string path = locate_file(info, size, cli_root);
  const Md5Status st = check_md5 ? verify_md5(path, info.file(size).md5) : Md5Status::Skipped;
  if (md5) *md5 = st;
  MedMnist m = load_medmnist(info, size, path);
  m.md5 = st;
  return m;
}

std::string md5_status_name(Md5Status s) {
  switch (s) {
    case Md5Status::Verified:
      return "verified";
    case Md5Status::Remembered:
      return "verified earlier";
    case Md5Status::Unavailable:
      return "not checked (no MD5 support in this build)";
    case Md5Status::Skipped:
      return "not checked (--skip-md5)";
  }
  return "?";
}

at::Tensor to_network_input(const at::Tensor& images_u8) {
  return core::conv_layout(images_u8.to(at::kFloat).mul_(2.0f / 255.0f).sub_(1.0f));
}

at::Tensor to_unit(const at::Tensor& images_u8) {
  return images_u8.to(at::kFloat).div_(255.0f);
}

at::Tensor unit_to_network_input(const at::Tensor& unit) {
  return core::conv_layout(unit.mul(2.0f).sub_(1.0f));
}

}  // namespace mednet::data
