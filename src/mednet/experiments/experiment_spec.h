#pragma once
// An experiment file with several arms (for example with and without augmentation) run over the same
// seeds. Each arm is the base config with the arm's keys merged over it (JSON merge patch):
//
//   {"name": "...", "seeds": [0, 1, 2], "base": {...train config...},
//    "arms": [{"name": "plain", "config": {}}, {"name": "augmented", "config": {"augment": [...]}}],
//    "ensemble": true}
//
// Runs go to OUT/<arm>/seed<S>/, each a normal run directory (resumable, evaluable). With "ensemble",
// each arm's finished seeds are also averaged into OUT/<arm>/ensemble/ (run/ensemble.h).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mednet/run/config.h"

namespace mednet::experiments {

struct ArmSpec {
  std::string name;
  std::string label;  ///< for tables and legends (default: the name)
  nlohmann::json patch = nlohmann::json::object();
};

/// Arm a against arm b (a minus b) on the same test images, with the paired bootstrap.
struct ComparisonSpec {
  std::string a, b;
};

struct ExperimentSpec {
  std::string name;
  std::string description;
  std::vector<uint64_t> seeds{0};
  nlohmann::json base = nlohmann::json::object();
  std::vector<ArmSpec> arms;
  /// Arms whose gradient norms are drawn against depth side by side (may be empty).
  std::vector<std::string> gradient_flow;
  /// "comparisons": [{"a": ..., "b": ...}]; without the key, every arm against the first arm of the
  /// same dataset and size.
  std::vector<ComparisonSpec> comparisons;
  /// Score the ensemble of each arm's seeds (needs two seeds or more).
  bool ensemble = false;
  /// Run `mednet robustness` on every finished run (into its folder) and compare the arms' AUC drop
  /// under corruption in summary.md (robustness_experiment.h).
  bool robustness = false;
};

/// Reads and checks an experiment file: every arm's config must be valid (errors name the arm).
ExperimentSpec experiment_from_json(const nlohmann::json& j);
ExperimentSpec load_experiment(const std::string& path);
/// True when the file is an experiment with arms rather than a single train config.
bool is_experiment_file(const std::string& path);

/// The arm's full config for one seed.
run::TrainConfig arm_config(const ExperimentSpec& e, const ArmSpec& arm, uint64_t seed);
const ArmSpec& find_arm(const ExperimentSpec& e, const std::string& name);
/// distill.teacher entries "arm:NAME" in cfg become the run folders of every seed of arm NAME under out.
void resolve_teachers(run::TrainConfig& cfg, const ExperimentSpec& e, const std::string& out);
std::string run_dir(const std::string& out, const std::string& arm, uint64_t seed);
/// OUT/<arm>/ensemble.
std::string ensemble_dir(const std::string& out, const std::string& arm);

}  // namespace mednet::experiments
