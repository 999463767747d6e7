#include "mednet/run/checkpoint.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/serialize.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/json.h"
#include "mednet/models/safetensors.h"
#include "mednet/run/optimizer_state.h"

namespace mednet::run {

namespace {

// The safetensors metadata key that says what a checkpoint holds ("module" or "optimizer").
constexpr const char* kKindKey = "mednet_checkpoint";
// The optimizer's scalars (type, each group's lr, each parameter's step) as JSON.
constexpr const char* kOptimizerKey = "optimizer";

// Runs before mednet 0.x wrote LibTorch archives (zip files): still read, through LibTorch.
bool is_torch_archive(const std::string& path) {
  char magic[4] = {0, 0, 0, 0};
  if (std::FILE* f = std::fopen(path.c_str(), "rb")) {
    const size_t n = std::fread(magic, 1, 4, f);
    std::fclose(f);
    return n == 4 && std::string(magic, 4) == std::string("PK\x03\x04", 4);
  }
  return false;
}

void load_torch_archive(const std::string& path, const c10::Device& device,
                        const std::function<void(torch::serialize::InputArchive&)>& load) {
  torch::serialize::InputArchive ar;
  try {
    ar.load_from(path, device);
    load(ar);
  } catch (const c10::Error& e) {
    MN_CHECK(false, "cannot load checkpoint ", path, ": it is damaged or was written for another model (",
             e.what_without_backtrace(), ")");
  }
}

FileDigest stage_tensors(const std::string& path, const models::StateDict& tensors,
                         const std::map<std::string, std::string>& metadata) {
  return core::stage_file(path, [&](const core::ByteSink& sink) {
    try {
      models::write_safetensors_to(sink, tensors, metadata);
    } catch (const c10::Error& e) {
      MN_CHECK(false, e.what_without_backtrace());
    }
  });
}

// The file's tensors by name, after checking that it is a checkpoint of the given kind.
std::map<std::string, at::Tensor> read_checkpoint(const std::string& path, const std::string& kind,
                                                  std::string* scalars = nullptr) {
  models::TensorFile file = models::read_safetensors_file(path);
  const auto it = file.metadata.find(kKindKey);
  MN_CHECK(it != file.metadata.end() && it->second == kind, "checkpoint ", path, " is not a mednet ", kind,
           " checkpoint (its safetensors metadata has ", kKindKey, " = '",
           it == file.metadata.end() ? std::string() : it->second, "')");
  if (scalars) {
    const auto s = file.metadata.find(kOptimizerKey);
    MN_CHECK(s != file.metadata.end(), "checkpoint ", path, " is damaged: no '", kOptimizerKey, "' metadata");
    *scalars = s->second;
  }
  std::map<std::string, at::Tensor> tensors;
  for (auto& [name, t] : file.tensors) tensors.emplace(name, std::move(t));
  return tensors;
}

std::string state_name(size_t group, size_t param, const char* what) {
  return "group" + std::to_string(group) + ".param" + std::to_string(param) + "." + what;
}

}  // namespace

FileDigest stage_module(const torch::nn::Module& m, const std::string& path) {
  models::StateDict tensors;
  for (const auto& p : m.named_parameters()) tensors.emplace_back(p.key(), p.value().detach());
  for (const auto& b : m.named_buffers()) tensors.emplace_back(b.key(), b.value().detach());
  return stage_tensors(path, tensors, {{kKindKey, "module"}});
}

FileDigest save_module(const torch::nn::Module& m, const std::string& path) {
  const FileDigest d = stage_module(m, path);
  core::commit_file(path + ".tmp", path);
  return d;
}

void load_module(torch::nn::Module& m, const std::string& path, const c10::Device& device) {
  MN_CHECK(std::filesystem::exists(path), "checkpoint ", path, " does not exist");
  if (is_torch_archive(path)) {
    // Loading an archive replaces each tensor whatever its shape: the model's own shapes are checked.
    std::map<std::string, std::pair<std::vector<int64_t>, at::ScalarType>> before;
    for (const auto& p : m.named_parameters())
      before[p.key()] = {p.value().sizes().vec(), p.value().scalar_type()};
    for (const auto& b : m.named_buffers())
      before[b.key()] = {b.value().sizes().vec(), b.value().scalar_type()};
    load_torch_archive(path, device, [&](torch::serialize::InputArchive& ar) { m.load(ar); });
    auto after = m.named_parameters();
    for (const auto& b : m.named_buffers()) after.insert(b.key(), b.value());
    for (const auto& [key, shape] : before) {
      const at::Tensor* now = after.find(key);
      MN_CHECK(now && now->sizes().vec() == shape.first && now->scalar_type() == shape.second, "checkpoint ",
               path, " does not fit the model its run's config.json describes: '", key, "' is ",
               now ? now->sizes() : c10::IntArrayRef{}, " there and ", c10::IntArrayRef(shape.first),
               " in the model (was config.json changed?)");
    }
    return;
  }
  std::map<std::string, at::Tensor> file = read_checkpoint(path, "module");
  auto targets = m.named_parameters();
  for (const auto& b : m.named_buffers()) targets.insert(b.key(), b.value());
  for (const auto& t : targets) {
    const auto it = file.find(t.key());
    MN_CHECK(it != file.end(), "checkpoint ", path,
             " does not fit the model its run's config.json describes: ", "it has no '", t.key(),
             "' (was config.json changed?)");
    MN_CHECK(it->second.sizes() == t.value().sizes() && it->second.scalar_type() == t.value().scalar_type(),
             "checkpoint ", path, " does not fit the model its run's config.json describes: '", t.key(),
             "' is ", it->second.sizes(), " there and ", t.value().sizes(),
             " in the model (was config.json changed?)");
  }
  for (const auto& [name, t] : file)
    MN_CHECK(targets.contains(name), "checkpoint ", path, " does not fit the model its run's config.json ",
             "describes: it holds '", name, "', which the model does not have (was config.json changed?)");
  torch::NoGradGuard no_grad;
  for (auto& t : targets) t.value().copy_(file.at(t.key()).to(device));
}

FileDigest stage_optimizer(const torch::optim::Optimizer& opt, const std::string& path) {
  const auto* adam = dynamic_cast<const torch::optim::Adam*>(&opt);
  const auto* sgd = dynamic_cast<const torch::optim::SGD*>(&opt);
  MN_CHECK(adam || sgd, "cannot checkpoint this optimizer: only Adam and SGD states are written");
  nlohmann::json scalars = {{"type", adam ? "adam" : "sgd"}, {"groups", nlohmann::json::array()}};
  models::StateDict tensors;
  const auto& groups = opt.param_groups();
  for (size_t g = 0; g < groups.size(); ++g) {
    nlohmann::json steps = nlohmann::json::array();
    const auto& params = groups[g].params();
    for (size_t j = 0; j < params.size(); ++j) {
      const auto it = opt.state().find(optimizer_state_key(opt, params[j]));
      if (it == opt.state().end()) {
        steps.push_back(-1);  // no step taken yet: no state
        continue;
      }
      if (adam) {
        const auto& st = static_cast<const torch::optim::AdamParamState&>(*it->second);
        steps.push_back(st.step());
        tensors.emplace_back(state_name(g, j, "exp_avg"), st.exp_avg());
        tensors.emplace_back(state_name(g, j, "exp_avg_sq"), st.exp_avg_sq());
        if (st.max_exp_avg_sq().defined())
          tensors.emplace_back(state_name(g, j, "max_exp_avg_sq"), st.max_exp_avg_sq());
      } else {
        const auto& st = static_cast<const torch::optim::SGDParamState&>(*it->second);
        steps.push_back(0);
        if (st.momentum_buffer().defined())
          tensors.emplace_back(state_name(g, j, "momentum_buffer"), st.momentum_buffer());
      }
    }
    scalars["groups"].push_back({{"lr", groups[g].options().get_lr()}, {"steps", steps}});
  }
  return stage_tensors(path, tensors, {{kKindKey, "optimizer"}, {kOptimizerKey, scalars.dump()}});
}

void load_optimizer(torch::optim::Optimizer& opt, const std::string& path) {
  MN_CHECK(std::filesystem::exists(path), "optimizer state ", path, " does not exist");
  if (is_torch_archive(path)) {
    load_torch_archive(path, c10::kCPU, [&](torch::serialize::InputArchive& ar) { opt.load(ar); });
    return;
  }
  std::string text;
  std::map<std::string, at::Tensor> file = read_checkpoint(path, "optimizer", &text);
  const nlohmann::json scalars = core::parse_json(text, path + " (its optimizer metadata)", /*damaged=*/true);
  const bool adam = dynamic_cast<torch::optim::Adam*>(&opt) != nullptr;
  const std::string type = adam ? "adam" : "sgd";
  auto& groups = opt.param_groups();
  std::map<std::string, bool> used;
  try {
    MN_CHECK(scalars.at("type").get<std::string>() == type, "optimizer state ", path, " is for ",
             scalars.at("type").get<std::string>(), " and this run uses ", type,
             " (was config.json changed?)");
    const auto& saved = scalars.at("groups");
    MN_CHECK(saved.is_array() && saved.size() == groups.size(), "optimizer state ", path, " has ",
             saved.size(), " parameter groups and the run has ", groups.size(),
             " (was config.json changed?)");
    for (size_t g = 0; g < groups.size(); ++g) {
      const auto& params = groups[g].params();
      const auto& steps = saved[g].at("steps");
      MN_CHECK(steps.is_array() && steps.size() == params.size(), "optimizer state ", path, " has ",
               steps.size(), " parameters in group ", g, " and the run has ", params.size(),
               " (was config.json changed?)");
      const double lr = saved[g].at("lr").get<double>();
      MN_CHECK(std::isfinite(lr), "optimizer state ", path, " is damaged: group ", g, " has lr ", lr);
      groups[g].options().set_lr(lr);
      for (size_t j = 0; j < params.size(); ++j) {
        const auto& sj = steps[j];
        MN_CHECK(
            sj.is_number_integer() &&
                (sj.is_number_unsigned() ? sj.get<uint64_t>() <= uint64_t{1} << 62 : sj.get<int64_t>() >= -1),
            "optimizer state ", path, " is damaged: parameter ", j, " of group ", g, " has step ", sj.dump());
        const int64_t step = sj.get<int64_t>();
        auto tensor = [&](const char* what, bool required) -> at::Tensor {
          const std::string name = state_name(g, j, what);
          const auto it = file.find(name);
          MN_CHECK(it != file.end() || !required, "optimizer state ", path, " is damaged: no '", name, "'");
          if (it == file.end()) return {};
          MN_CHECK(
              it->second.sizes() == params[j].sizes() && it->second.scalar_type() == params[j].scalar_type(),
              "optimizer state ", path, " does not fit the run: '", name, "' is ", it->second.sizes(),
              " and its parameter ", params[j].sizes(), " (was config.json changed?)");
          used[name] = true;
          return it->second.to(params[j].device());
        };
        const auto key = optimizer_state_key(opt, params[j]);
        if (step < 0) {
          opt.state().erase(key);
          continue;
        }
        if (adam) {
          auto st = std::make_unique<torch::optim::AdamParamState>();
          st->step(step);
          st->exp_avg(tensor("exp_avg", true));
          st->exp_avg_sq(tensor("exp_avg_sq", true));
          if (at::Tensor m = tensor("max_exp_avg_sq", false); m.defined()) st->max_exp_avg_sq(m);
          opt.state()[key] = std::move(st);
        } else {
          auto st = std::make_unique<torch::optim::SGDParamState>();
          if (at::Tensor b = tensor("momentum_buffer", false); b.defined()) st->momentum_buffer(b);
          opt.state()[key] = std::move(st);
        }
      }
    }
  } catch (const nlohmann::json::exception& e) {
    MN_CHECK(false, "optimizer state ", path, " is damaged: ", e.what());
  }
  for (const auto& [name, t] : file)
    MN_CHECK(used.count(name), "optimizer state ", path, " holds '", name, "', which the run has no use for");
}

}  // namespace mednet::run
