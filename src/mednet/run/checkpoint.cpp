#include "mednet/run/checkpoint.h"

#include <filesystem>

#include <torch/serialize.h>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"

namespace mednet::run {

namespace {
// Writes the archive beside path and renames it over path.
void save_archive(torch::serialize::OutputArchive& ar, const std::string& path) {
  const std::string tmp = path + ".tmp";
  ar.save_to(tmp);
  core::commit_file(tmp, path);
}
}  // namespace

void save_module(const torch::nn::Module& m, const std::string& path) {
  torch::serialize::OutputArchive ar;
  m.save(ar);
  save_archive(ar, path);
}

void load_module(torch::nn::Module& m, const std::string& path, const c10::Device& device) {
  MN_CHECK(std::filesystem::exists(path), "checkpoint ", path, " does not exist");
  torch::serialize::InputArchive ar;
  try {
    ar.load_from(path, device);
    m.load(ar);
  } catch (const c10::Error& e) {
    MN_CHECK(false, "cannot load checkpoint ", path, ": it is damaged or was written for another model (",
             e.what_without_backtrace(), ")");
  }
}

void save_optimizer(const torch::optim::Optimizer& opt, const std::string& path) {
  torch::serialize::OutputArchive ar;
  opt.save(ar);
  save_archive(ar, path);
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
