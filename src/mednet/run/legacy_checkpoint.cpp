#include "mednet/run/legacy_checkpoint.h"

#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/models/torch_zip.h"

namespace mednet::run {

namespace {

// The most parameter groups and parameters per group an archive may declare: far above any model here.
constexpr int64_t kMaxCount = 1 << 20;

class LegacyOptimizer {
 public:
  explicit LegacyOptimizer(const std::string& path)
      : path_(path), c_(models::read_torch_zip_contents(path)), tensors_(tensors_by_name(c_.tensors)) {}

  CheckpointContents convert() {
    // LibTorch writes each group as param_groups/param_groups/G with params/J naming each parameter
    // by a key that the state (state/KEY) is filed under, and options holding lr (and betas for Adam).
    const int64_t groups = count("param_groups.param_groups/size");
    const std::string first = "param_groups.param_groups/0.options.";
    const bool adam = c_.values.count(first + "betas") > 0;
    MN_CHECK(groups == 0 || adam || c_.values.count(first + "momentum"), "optimizer state ", path_,
             " is neither Adam's nor SGD's (its first group has neither betas nor momentum)");
    nlohmann::json scalars = {{"type", adam ? "adam" : "sgd"}, {"groups", nlohmann::json::array()}};
    CheckpointContents out;
    for (int64_t g = 0; g < groups; ++g) {
      const std::string group = "param_groups.param_groups/" + std::to_string(g) + ".";
      const nlohmann::json& lr = value(group + "options.lr");
      MN_CHECK(lr.is_number(), "optimizer state ", path_, " is damaged: '", group, "options.lr' is ",
               lr.dump());
      nlohmann::json steps = nlohmann::json::array();
      const int64_t params = count(group + "params/size");
      for (int64_t j = 0; j < params; ++j) {
        const nlohmann::json& key = value(group + "params/" + std::to_string(j));
        MN_CHECK(key.is_string(), "optimizer state ", path_, " is damaged: parameter ", j, " of group ", g,
                 " is filed under ", key.dump());
        const std::string state = "state." + key.get<std::string>() + ".";
        const auto step = c_.values.find(state + "step");
        const bool has_state = adam ? step != c_.values.end() : tensors_.count(state + "momentum_buffer") > 0;
        steps.push_back(!has_state ? nlohmann::json(-1) : adam ? step->second : nlohmann::json(0));
        if (!has_state) continue;
        for (const char* what : {"exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer"}) {
          const auto t = tensors_.find(state + what);
          if (t != tensors_.end())
            out.tensors[state_name(static_cast<size_t>(g), static_cast<size_t>(j), what)] = t->second;
        }
      }
      scalars["groups"].push_back({{"lr", lr}, {"steps", steps}});
    }
    out.optimizer = scalars.dump();
    return out;
  }

 private:
  const nlohmann::json& value(const std::string& name) const {
    const auto it = c_.values.find(name);
    MN_CHECK(it != c_.values.end(), "optimizer state ", path_, " is damaged: it has no '", name, "'");
    return it->second;
  }
  // LibTorch files counts as one-element integer tensors.
  int64_t count(const std::string& name) const {
    const auto it = tensors_.find(name);
    MN_CHECK(it != tensors_.end(), "optimizer state ", path_, " is damaged: it has no '", name, "'");
    const at::Tensor& t = it->second;
    MN_CHECK(t.numel() == 1 && !at::isFloatingType(t.scalar_type()) && t.scalar_type() != at::kBool,
             "optimizer state ", path_, " is damaged: '", name, "' is not one integer");
    const int64_t n = t.item<int64_t>();
    MN_CHECK(n >= 0 && n <= kMaxCount, "optimizer state ", path_, " is damaged: '", name, "' is ", n);
    return n;
  }

  const std::string& path_;
  models::PickleContents c_;
  std::map<std::string, at::Tensor> tensors_;
};

}  // namespace

std::string state_name(size_t group, size_t param, const std::string& what) {
  return "group" + std::to_string(group) + ".param" + std::to_string(param) + "." + what;
}

std::map<std::string, at::Tensor> tensors_by_name(const models::StateDict& tensors) {
  return {tensors.begin(), tensors.end()};
}

CheckpointContents read_legacy_module(const std::string& path) {
  return {tensors_by_name(models::read_torch_zip_contents(path).tensors), {}};
}

CheckpointContents read_legacy_optimizer(const std::string& path) {
  return LegacyOptimizer(path).convert();
}

}  // namespace mednet::run
