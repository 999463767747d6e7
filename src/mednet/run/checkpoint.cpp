#include "mednet/run/checkpoint.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>
#include <vector>

#include <torch/serialize.h>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"

namespace mednet::run {

namespace {
// Writes the archive to path + ".tmp". LibTorch's writer throws from its destructor (ending the
// process) when a write comes up short, so the sink always reports every byte taken and keeps the
// first error to report itself after the archive is finished.
FileDigest stage_archive(torch::serialize::OutputArchive& ar, const std::string& path) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  MN_CHECK(f, "cannot write ", tmp, ": ", std::strerror(errno));
  FileDigest d;
  int err = 0;
  std::string lib_error;
  try {
    ar.save_to([&](const void* data, size_t n) -> size_t {
      if (!err && n > 0) {
        if (std::fwrite(data, 1, n, f) != n) err = errno ? errno : EIO;
        d.crc32 = core::crc32_update(d.crc32, data, n);
        d.bytes += n;
      }
      return n;
    });
  } catch (const c10::Error& e) {
    lib_error = e.what_without_backtrace();
  }
  if (std::fflush(f) != 0 && !err) err = errno;
  if (std::fclose(f) != 0 && !err) err = errno;
  if (err || !lib_error.empty()) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    MN_CHECK(lib_error.empty(), "cannot write ", tmp, ": ", lib_error, "; ", path, " is unchanged");
    MN_CHECK(false, "cannot write ", tmp, ": ", std::strerror(err), " (disk full?); ", path, " is unchanged");
  }
  return d;
}
}  // namespace

FileDigest stage_module(const torch::nn::Module& m, const std::string& path) {
  torch::serialize::OutputArchive ar;
  m.save(ar);
  return stage_archive(ar, path);
}

FileDigest stage_optimizer(const torch::optim::Optimizer& opt, const std::string& path) {
  torch::serialize::OutputArchive ar;
  opt.save(ar);
  return stage_archive(ar, path);
}

FileDigest save_module(const torch::nn::Module& m, const std::string& path) {
  const FileDigest d = stage_module(m, path);
  core::commit_file(path + ".tmp", path);
  return d;
}

void load_module(torch::nn::Module& m, const std::string& path, const c10::Device& device) {
  MN_CHECK(std::filesystem::exists(path), "checkpoint ", path, " does not exist");
  // Loading replaces each tensor whatever its shape: the model's own shapes are kept to compare.
  std::vector<std::pair<std::string, at::Tensor>> expected;
  for (const auto& p : m.named_parameters()) expected.emplace_back(p.key(), p.value());
  for (const auto& b : m.named_buffers()) expected.emplace_back(b.key(), b.value());
  std::vector<std::pair<std::vector<int64_t>, at::ScalarType>> shapes;
  for (const auto& e : expected) shapes.emplace_back(e.second.sizes().vec(), e.second.scalar_type());
  torch::serialize::InputArchive ar;
  try {
    ar.load_from(path, device);
    m.load(ar);
  } catch (const c10::Error& e) {
    MN_CHECK(false, "cannot load checkpoint ", path, ": it is damaged or was written for another model (",
             e.what_without_backtrace(), ")");
  }
  const auto params = m.named_parameters();
  const auto buffers = m.named_buffers();
  for (size_t i = 0; i < expected.size(); ++i) {
    const std::string& key = expected[i].first;
    const at::Tensor* now = params.find(key);
    if (!now) now = buffers.find(key);
    MN_CHECK(now && now->sizes().vec() == shapes[i].first && now->scalar_type() == shapes[i].second,
             "checkpoint ", path, " does not fit the model its run's config.json describes: '", key, "' is ",
             now ? now->sizes() : c10::IntArrayRef{}, " there and ", c10::IntArrayRef(shapes[i].first),
             " in the model (was config.json changed?)");
  }
}

void load_optimizer(torch::optim::Optimizer& opt, const std::string& path) {
  MN_CHECK(std::filesystem::exists(path), "optimizer state ", path, " does not exist");
  torch::serialize::InputArchive ar;
  try {
    ar.load_from(path);
    opt.load(ar);
  } catch (const c10::Error& e) {
    MN_CHECK(false, "cannot load optimizer state ", path, ": ", e.what_without_backtrace());
  }
}

}  // namespace mednet::run
