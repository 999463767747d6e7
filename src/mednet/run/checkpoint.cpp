#include "mednet/run/checkpoint.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/models/safetensors.h"
#include "mednet/models/weights.h"
#include "mednet/run/legacy_checkpoint.h"
#include "mednet/run/optimizer_state.h"

namespace mednet::run {

namespace {

// The safetensors metadata key that says what a checkpoint holds ("module" or "optimizer").
constexpr const char* kKindKey = "mednet_checkpoint";
// The optimizer's scalars (type, each group's lr, each parameter's step) as JSON.
constexpr const char* kOptimizerKey = "optimizer";

// A writer of the tensors as a safetensors file; snapshot: of contiguous host copies made now.
core::FileWriter tensor_writer(models::StateDict tensors, std::map<std::string, std::string> metadata,
                               bool snapshot = false) {
  if (snapshot) {
    for (auto& [name, t] : tensors) t = at::empty(t.sizes(), t.options().device(at::kCPU)).copy_(t);
  }
  return [tensors = std::move(tensors), metadata = std::move(metadata)](const core::ByteSink& sink) {
    try {
      models::write_safetensors_to(sink, tensors, metadata);
    } catch (const c10::Error& e) {
      MN_CHECK(false, e.what_without_backtrace());
    }
  };
}

core::FileWriter module_writer(const torch::nn::Module& m, bool snapshot = false) {
  models::StateDict tensors;
  for (const auto& t : models::module_tensors(m)) tensors.emplace_back(t.key(), t.value().detach());
  return tensor_writer(std::move(tensors), {{kKindKey, "module"}}, snapshot);
}

// A checkpoint's tensors by name (and an optimizer's scalars), after checking that it is a checkpoint of
// the given kind; source names it in errors.
CheckpointContents checkpoint_contents(const models::TensorFile& file, const std::string& kind,
                                       const std::string& source) {
  const auto it = file.metadata.find(kKindKey);
  MN_CHECK(it != file.metadata.end() && it->second == kind, "checkpoint ", source, " is not a mednet ", kind,
           " checkpoint (its safetensors metadata has ", kKindKey, " = '",
           core::escape_bytes(it == file.metadata.end() ? std::string() : it->second), "')");
  CheckpointContents out;
  if (kind == "optimizer") {
    const auto s = file.metadata.find(kOptimizerKey);
    MN_CHECK(s != file.metadata.end(), "checkpoint ", source, " is damaged: no '", kOptimizerKey,
             "' metadata");
    out.optimizer = s->second;
  }
  out.tensors = tensors_by_name(file.tensors);
  return out;
}

// The file's contents; archives of earlier runs are converted (run/legacy_checkpoint.h).
CheckpointContents read_checkpoint(const std::string& path, const std::string& kind) {
  if (models::is_torch_zip(path))
    return kind == "module" ? read_legacy_module(path) : read_legacy_optimizer(path);
  return checkpoint_contents(models::read_safetensors_file(path), kind, path);
}

// All of a writer's bytes in memory.
std::string bytes_of(const core::FileWriter& write) {
  std::string out;
  write([&](const void* data, size_t n) { out.append(static_cast<const char*>(data), n); });
  return out;
}

core::FileWriter optimizer_writer(const torch::optim::Optimizer& opt, bool snapshot = false) {
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
  return tensor_writer(std::move(tensors), {{kKindKey, "optimizer"}, {kOptimizerKey, scalars.dump()}},
                       snapshot);
}

}  // namespace

core::FileWriter module_snapshot(const torch::nn::Module& m) {
  return module_writer(m, /*snapshot=*/true);
}

core::FileWriter optimizer_snapshot(const torch::optim::Optimizer& opt) {
  return optimizer_writer(opt, /*snapshot=*/true);
}

FileDigest save_module(const torch::nn::Module& m, const std::string& path) {
  return core::write_file_atomic(path, module_writer(m));
}

namespace {
// Loads a module checkpoint's tensors into m; source names them in errors.
void apply_module(torch::nn::Module& m, const std::map<std::string, at::Tensor>& file,
                  const std::string& source, const c10::Device& device) {
  auto targets = models::module_tensors(m);
  for (const auto& t : targets) {
    const auto it = file.find(t.key());
    MN_CHECK(it != file.end(), "checkpoint ", source,
             " does not fit the model its run's config.json describes: ", "it has no '", t.key(),
             "' (was config.json changed?)");
    MN_CHECK(it->second.sizes() == t.value().sizes() && it->second.scalar_type() == t.value().scalar_type(),
             "checkpoint ", source, " does not fit the model its run's config.json describes: '", t.key(),
             "' is ", it->second.sizes(), " there and ", t.value().sizes(),
             " in the model (was config.json changed?)");
  }
  for (const auto& [name, t] : file)
    MN_CHECK(targets.contains(name), "checkpoint ", source, " does not fit the model its run's config.json ",
             "describes: it holds '", name, "', which the model does not have (was config.json changed?)");
  torch::NoGradGuard no_grad;
  for (auto& t : targets) t.value().copy_(file.at(t.key()).to(device));
}
}  // namespace

void load_module(torch::nn::Module& m, const std::string& path, const c10::Device& device) {
  MN_CHECK(std::filesystem::exists(path), "checkpoint ", path, " does not exist");
  apply_module(m, read_checkpoint(path, "module").tensors, path, device);
}

std::string module_bytes(const torch::nn::Module& m) {
  return bytes_of(module_writer(m));
}

void load_module_bytes(torch::nn::Module& m, const std::string& bytes, const std::string& source,
                       const c10::Device& device) {
  apply_module(m, checkpoint_contents(models::parse_safetensors(bytes, source), "module", source).tensors,
               source, device);
}

FileDigest save_optimizer(const torch::optim::Optimizer& opt, const std::string& path) {
  return core::write_file_atomic(path, optimizer_writer(opt));
}

namespace {
// Loads an optimizer checkpoint's state into opt; source names it in errors.
void apply_optimizer(torch::optim::Optimizer& opt, const CheckpointContents& contents,
                     const std::string& source) {
  const std::map<std::string, at::Tensor>& file = contents.tensors;
  const nlohmann::json scalars =
      core::parse_json(contents.optimizer, source + " (its optimizer metadata)", /*damaged=*/true);
  const bool adam = dynamic_cast<torch::optim::Adam*>(&opt) != nullptr;
  const std::string type = adam ? "adam" : "sgd";
  auto& groups = opt.param_groups();
  std::map<std::string, bool> used;
  try {
    MN_CHECK(scalars.at("type").get<std::string>() == type, "optimizer state ", source, " is for ",
             scalars.at("type").get<std::string>(), " and this run uses ", type,
             " (was config.json changed?)");
    const auto& saved = scalars.at("groups");
    MN_CHECK(saved.is_array() && saved.size() == groups.size(), "optimizer state ", source, " has ",
             saved.size(), " parameter groups and the run has ", groups.size(),
             " (was config.json changed?)");
    for (size_t g = 0; g < groups.size(); ++g) {
      const auto& params = groups[g].params();
      const auto& steps = saved[g].at("steps");
      MN_CHECK(steps.is_array() && steps.size() == params.size(), "optimizer state ", source, " has ",
               steps.size(), " parameters in group ", g, " and the run has ", params.size(),
               " (was config.json changed?)");
      const double lr = saved[g].at("lr").get<double>();
      MN_CHECK(std::isfinite(lr), "optimizer state ", source, " is damaged: group ", g, " has lr ", lr);
      groups[g].options().set_lr(lr);
      for (size_t j = 0; j < params.size(); ++j) {
        const auto& sj = steps[j];
        MN_CHECK(sj.is_number_integer() && (sj.is_number_unsigned() ? sj.get<uint64_t>() <= uint64_t{1} << 62
                                                                    : sj.get<int64_t>() >= -1),
                 "optimizer state ", source, " is damaged: parameter ", j, " of group ", g, " has step ",
                 sj.dump());
        const int64_t step = sj.get<int64_t>();
        auto tensor = [&](const char* what, bool required) -> at::Tensor {
          const std::string name = state_name(g, j, what);
          const auto it = file.find(name);
          MN_CHECK(it != file.end() || !required, "optimizer state ", source, " is damaged: no '", name, "'");
          if (it == file.end()) return {};
          MN_CHECK(
              it->second.sizes() == params[j].sizes() && it->second.scalar_type() == params[j].scalar_type(),
              "optimizer state ", source, " does not fit the run: '", name, "' is ", it->second.sizes(),
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
    MN_CHECK(false, "optimizer state ", source, " is damaged: ", e.what());
  }
  for (const auto& [name, t] : file)
    MN_CHECK(used.count(name), "optimizer state ", source, " holds '", name,
             "', which the run has no use for");
}
}  // namespace

void load_optimizer(torch::optim::Optimizer& opt, const std::string& path) {
  MN_CHECK(std::filesystem::exists(path), "optimizer state ", path, " does not exist");
  apply_optimizer(opt, read_checkpoint(path, "optimizer"), path);
}

std::string optimizer_bytes(const torch::optim::Optimizer& opt) {
  return bytes_of(optimizer_writer(opt));
}

void load_optimizer_bytes(torch::optim::Optimizer& opt, const std::string& bytes, const std::string& source) {
  apply_optimizer(opt, checkpoint_contents(models::parse_safetensors(bytes, source), "optimizer", source),
                  source);
}

}  // namespace mednet::run
