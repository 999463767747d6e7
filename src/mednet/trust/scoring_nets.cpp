#include "mednet/trust/scoring_nets.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/json.h"
#include "mednet/engine/evaluate.h"
#include "mednet/trust/calibration_file.h"
#include "mednet/trust/temperature.h"

namespace mednet::trust {

bool is_ensemble_folder(const std::string& dir) {
  return std::filesystem::exists(dir + "/ensemble.json");
}

ScoringNet open_scoring_run(const std::string& dir, const run::OpenRunOptions& options) {
  ScoringNet n;
  n.run = std::make_unique<run::OpenRun>(run::open_run(dir, options));
  n.views = engine::tta_views(n.run->config.tta, n.run->config.augment);
  return n;
}

std::vector<ScoringNet> open_ensemble_members(const std::string& dir, const run::OpenRunOptions& options) {
  const nlohmann::json e = core::read_json_file(dir + "/ensemble.json");
  MN_CHECK(e.contains("members") && e["members"].is_array() && !e["members"].empty(), dir,
           "/ensemble.json lists no members");
  std::vector<ScoringNet> nets;
  for (const auto& member : e["members"]) {
    const std::string member_dir = member.is_object() ? member.value("run", "") : "";
    MN_CHECK(!member_dir.empty(), dir, "/ensemble.json: a member without its run folder");
    run::OpenRunOptions o = options;
    o.load_data = options.load_data && nets.empty();
    ScoringNet n;
    n.run = std::make_unique<run::OpenRun>(run::open_run(member_dir, o));
    const run::TrainConfig& first = nets.empty() ? n.run->config : nets.front().run->config;
    MN_CHECK(n.run->config.dataset == first.dataset && n.run->config.size == first.size, dir,
             "/ensemble.json: member ", member_dir, " is of another dataset or size");
    // Each member as the ensemble scored it: with its training flips when its tta was "flips", through
    // its own temperature when it was calibrated.
    n.views = engine::tta_views(member.value("tta", "none"), n.run->config.augment);
    if (member.value("calibration", "none") != "none") {
      const data::DatasetInfo& info = *n.run->info;
      const auto cal = read_calibration_file(member_dir + "/calibration.json", info.task, info.num_outputs());
      MN_CHECK(cal.has_value(), dir, "/ensemble.json: member ", member_dir,
               " was calibrated, but its calibration.json is gone");
      n.temperature = cal->temperature;
    }
    nets.push_back(std::move(n));
  }
  return nets;
}

at::Tensor net_probabilities(const ScoringNet& net, const at::Tensor& x, c10::Device device, int64_t batch) {
  const data::Task task = net.run->info->task;
  at::Tensor p = engine::predict(*net.run->model, x, task, device, batch, net.views).to(at::kDouble);
  return net.temperature ? apply_temperature(task, p, *net.temperature) : p;
}

}  // namespace mednet::trust
