#include "mednet/experiments/experiment_spec.h"

#include <algorithm>
#include <fstream>
#include <optional>
#include <regex>
#include <set>

#include "mednet/core/error.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"

namespace mednet::experiments {

using nlohmann::json;

namespace {

// The arm a distillation teacher "arm:NAME" names (none for a run folder).
std::optional<std::string> teacher_arm(const std::string& teacher) {
  if (teacher.rfind("arm:", 0) != 0) return std::nullopt;
  return teacher.substr(4);
}

}  // namespace

ExperimentSpec experiment_from_json(const json& j) {
  MN_CHECK_USAGE(j.is_object() && j.contains("arms") && j.at("arms").is_array() && !j.at("arms").empty(),
                 "an experiment file needs a non-empty \"arms\" list");
  const std::set<std::string> known{"name",          "description", "seeds",    "base",      "arms",
                                    "gradient_flow", "comparisons", "ensemble", "robustness"};
  core::reject_unknown_keys(j, known, "experiment file");
  ExperimentSpec e;
  try {
    e.name = j.value("name", std::string("experiment"));
    e.description = j.value("description", std::string());
    core::take(j, "seeds", e.seeds, "experiment key");
    core::take(j, "ensemble", e.ensemble, "experiment key");
    core::take(j, "robustness", e.robustness, "experiment key");
    if (j.contains("gradient_flow")) e.gradient_flow = j.at("gradient_flow").get<std::vector<std::string>>();
  } catch (const json::exception& ex) {
    MN_CHECK_USAGE(false, "experiment file: ", ex.what());
  }
  MN_CHECK_USAGE(!e.seeds.empty(), "experiment file: \"seeds\" must not be empty");
  MN_CHECK_USAGE(!e.ensemble || e.seeds.size() >= 2,
                 "experiment file: \"ensemble\" averages the seeds of each arm and needs two seeds or more");
  if (j.contains("base")) {
    MN_CHECK_USAGE(j.at("base").is_object(), "experiment file: \"base\" must be an object");
    e.base = j.at("base");
  }
  static const std::regex safe("[A-Za-z0-9._-]+");
  std::set<std::string> names;
  for (const auto& a : j.at("arms")) {
    MN_CHECK_USAGE(a.is_object() && a.contains("name") && a.at("name").is_string(),
                   "each arm needs a \"name\", got ", a.dump());
    ArmSpec arm;
    arm.name = a.at("name").get<std::string>();
    MN_CHECK_USAGE(std::regex_match(arm.name, safe), "arm name '", arm.name,
                   "' must use letters, digits, '.', '_' or '-' (it names a folder)");
    MN_CHECK_USAGE(names.insert(arm.name).second, "two arms are named '", arm.name, "'");
    core::reject_unknown_keys(a, {"name", "label", "config"}, "arm '" + arm.name + "'");
    arm.label = a.value("label", arm.name);
    if (a.contains("config")) arm.patch = a.at("config");
    e.arms.push_back(arm);
  }
  for (const auto& g : e.gradient_flow) find_arm(e, g);
  for (size_t i = 0; i < e.arms.size(); ++i) {
    const ArmSpec& arm = e.arms[i];
    try {
      const run::TrainConfig c = arm_config(e, arm, e.seeds.front());
      c.validate();
      for (const auto& t : c.distill.teachers) {
        const std::optional<std::string> name = teacher_arm(t);
        if (!name) continue;
        const auto before = std::find_if(e.arms.begin(), e.arms.begin() + static_cast<std::ptrdiff_t>(i),
                                         [&](const ArmSpec& a) { return a.name == *name; });
        MN_CHECK_USAGE(before != e.arms.begin() + static_cast<std::ptrdiff_t>(i), "distill.teacher '", t,
                       "' must name an arm listed before this one (its runs are trained first)");
      }
    } catch (const Error& ex) {
      MN_CHECK_USAGE(false, "arm '", arm.name, "': ", ex.what());
    }
  }
  if (j.contains("comparisons")) {
    MN_CHECK_USAGE(j.at("comparisons").is_array(), "experiment file: \"comparisons\" must be a list");
    for (const auto& c : j.at("comparisons")) {
      MN_CHECK_USAGE(c.is_object() && c.contains("a") && c.contains("b") && c.at("a").is_string() &&
                         c.at("b").is_string(),
                     "each comparison needs arm names \"a\" and \"b\", got ", c.dump());
      core::reject_unknown_keys(c, {"a", "b"}, "comparison");
      ComparisonSpec cs{c.at("a").get<std::string>(), c.at("b").get<std::string>()};
      const run::TrainConfig ca = arm_config(e, find_arm(e, cs.a), e.seeds.front());
      const run::TrainConfig cb = arm_config(e, find_arm(e, cs.b), e.seeds.front());
      MN_CHECK_USAGE(ca.dataset == cb.dataset && ca.size == cb.size, "comparison ", cs.a, " against ", cs.b,
                     ": the arms must share dataset and size (they are scored on the same test images)");
      e.comparisons.push_back(cs);
    }
  } else {
    for (size_t i = 1; i < e.arms.size(); ++i) {
      const run::TrainConfig ci = arm_config(e, e.arms[i], e.seeds.front());
      for (size_t k = 0; k < i; ++k) {
        const run::TrainConfig ck = arm_config(e, e.arms[k], e.seeds.front());
        if (ci.dataset == ck.dataset && ci.size == ck.size) {
          e.comparisons.push_back({e.arms[i].name, e.arms[k].name});
          break;
        }
      }
    }
  }
  return e;
}

void resolve_teachers(run::TrainConfig& cfg, const ExperimentSpec& e, const std::string& out) {
  std::vector<std::string> dirs;
  for (const auto& t : cfg.distill.teachers) {
    const std::optional<std::string> name = teacher_arm(t);
    if (!name) {
      dirs.push_back(t);
      continue;
    }
    const ArmSpec& arm = find_arm(e, *name);
    for (uint64_t seed : e.seeds) dirs.push_back(run_dir(out, arm.name, seed));
  }
  cfg.distill.teachers = dirs;
}

ExperimentSpec load_experiment(const std::string& path) {
  return experiment_from_json(core::read_json_file(path, "experiment file"));
}

bool is_experiment_file(const std::string& path) {
  const json j = core::read_json_file(path, "experiment file");
  return j.is_object() && j.contains("arms");
}

run::TrainConfig arm_config(const ExperimentSpec& e, const ArmSpec& arm, uint64_t seed) {
  json merged = e.base;
  merged.merge_patch(arm.patch);
  merged["name"] = e.name + "/" + arm.name;
  merged["seed"] = seed;
  return run::config_from_json(merged);
}

const ArmSpec& find_arm(const ExperimentSpec& e, const std::string& name) {
  for (const auto& a : e.arms)
    if (a.name == name) return a;
  std::vector<std::string> names;
  for (const auto& a : e.arms) names.push_back(a.name);
  MN_CHECK_USAGE(false, "no arm named '", name, "' in experiment ", e.name,
                 " (arms: ", core::join(names, ", "), ")");
  return e.arms.front();
}

std::string run_dir(const std::string& out, const std::string& arm, uint64_t seed) {
  return out + "/" + arm + "/seed" + std::to_string(seed);
}

std::string ensemble_dir(const std::string& out, const std::string& arm) {
  return out + "/" + arm + "/ensemble";
}

}  // namespace mednet::experiments
