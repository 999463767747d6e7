#include "mednet/experiments/study_spec.h"

#include <regex>
#include <set>

#include "mednet/core/error.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/data/catalog.h"

namespace mednet::experiments {

using nlohmann::json;

std::string stage_kind_name(StageKind k) {
  return k == StageKind::Train   ? "train"
         : k == StageKind::Cam   ? "cam"
         : k == StageKind::Quant ? "quant"
         : k == StageKind::Trust ? "trust"
                                 : "robustness";
}

namespace {

std::vector<uint64_t> seeds_of(const json& j, const std::string& where) {
  MN_CHECK_USAGE(j.is_array() && !j.empty(), where, ": \"seeds\" must be a non-empty list of seeds");
  std::vector<uint64_t> out;
  for (const auto& s : j) {
    MN_CHECK_USAGE(s.is_number_unsigned(), where, ": seeds must be integers >= 0, got ", s.dump());
    out.push_back(s.get<uint64_t>());
  }
  return out;
}

StageSpec stage_from_json(const json& j, const std::string& path) {
  MN_CHECK_USAGE(j.is_object() && j.contains("name") && j.at("name").is_string() && j.contains("file") &&
                     j.at("file").is_string(),
                 path, ": each stage needs \"name\" and \"file\", got ", j.dump());
  StageSpec s;
  s.name = j.at("name").get<std::string>();
  const std::string where = path + ": stage '" + s.name + "'";
  static const std::regex safe("[A-Za-z0-9._-]+");
  MN_CHECK_USAGE(std::regex_match(s.name, safe), where,
                 ": the name must use letters, digits, '.', '_' or '-'");
  core::reject_unknown_keys(j, {"name", "kind", "file", "arm", "seeds", "cpu_skip", "runs"}, where);
  s.file = j.at("file").get<std::string>();
  const std::string kind = j.value("kind", "train");
  MN_CHECK_USAGE(
      kind == "train" || kind == "cam" || kind == "quant" || kind == "trust" || kind == "robustness", where,
      ": kind must be train, cam, quant, trust or robustness, got '", kind, "'");
  s.kind = kind == "train"   ? StageKind::Train
           : kind == "cam"   ? StageKind::Cam
           : kind == "quant" ? StageKind::Quant
           : kind == "trust" ? StageKind::Trust
                             : StageKind::Robustness;
  if (j.contains("arm")) s.arm = j.at("arm").get<std::string>();
  if (j.contains("seeds")) s.seeds = seeds_of(j.at("seeds"), where);
  for (const auto& c : j.value("cpu_skip", json::array())) {
    MN_CHECK_USAGE(c.is_object() && c.contains("arm") && c.contains("why"), where,
                   ": each cpu_skip entry needs \"arm\" and \"why\"");
    s.cpu_skip.push_back({c.at("arm").get<std::string>(), c.at("why").get<std::string>()});
  }
  const json runs = j.value("runs", json::object());
  for (const auto& [from, to] : runs.items()) s.runs[from] = to.get<std::string>();
  return s;
}

}  // namespace

StudySpec load_study(const std::string& path) {
  const json j = core::read_json_file(path, "study file");
  MN_CHECK_USAGE(
      j.is_object() && j.contains("stages") && j.at("stages").is_array() && !j.at("stages").empty(), path,
      ": a study file needs a non-empty \"stages\" list");
  core::reject_unknown_keys(j, {"name", "description", "datasets", "stages", "presets"}, path);
  StudySpec s;
  try {
    s.name = j.value("name", std::string("study"));
    s.description = j.value("description", std::string());
    const json datasets = j.value("datasets", json::object());
    core::reject_unknown_keys(datasets, {"2d", "3d"}, path + ": \"datasets\"");
    s.dataset_2d = datasets.value("2d", std::string());
    s.dataset_3d = datasets.value("3d", std::string());
    std::set<std::string> names;
    for (const auto& st : j.at("stages")) {
      s.stages.push_back(stage_from_json(st, path));
      MN_CHECK_USAGE(names.insert(s.stages.back().name).second, path, ": two stages are named '",
                     s.stages.back().name, "'");
    }
    const json presets = j.value("presets", json::object());
    for (const auto& [name, p] : presets.items()) {
      const std::string where = path + ": preset '" + name + "'";
      MN_CHECK_USAGE(p.is_object(), where, " must be an object");
      core::reject_unknown_keys(p, {"seeds", "train", "patch"}, where);
      StudyPreset preset;
      if (p.contains("seeds")) preset.seeds = seeds_of(p.at("seeds"), where);
      if (p.contains("train")) preset.train = p.at("train");
      const json patches = p.value("patch", json::object());
      for (const auto& [stage, patch] : patches.items()) {
        MN_CHECK_USAGE(names.count(stage), where, ": patch for unknown stage '", stage, "'");
        preset.patch[stage] = patch;
      }
      s.presets[name] = preset;
    }
  } catch (const json::exception& ex) {
    MN_CHECK_USAGE(false, path, ": ", ex.what());
  }
  return s;
}

std::string study_run_path(const StageSpec& s, const std::string& path, const std::string& out) {
  const auto it = s.runs.find(path);
  if (it != s.runs.end()) return out + "/" + it->second;
  if (path.rfind("runs/", 0) == 0) return out + "/" + path.substr(5);
  return path;
}

namespace {

// The renames applied to text, except inside file names ending in .json (the study's own files, quoted in
// commands such as "mednet experiment --config experiments/exp2a_cnn2d_retina.json"), which stay true.
std::string renamed(const std::string& text,
                    const std::vector<std::pair<std::string, std::string>>& renames) {
  static const std::regex file_name("[A-Za-z0-9_./-]+\\.json");
  const auto rename = [&](std::string part) {
    for (const auto& [from, to] : renames) part = core::replace_all(part, from, to);
    return part;
  };
  std::string out;
  size_t done = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), file_name); it != std::sregex_iterator();
       ++it) {
    out += rename(text.substr(done, it->position() - done)) + it->str();
    done = it->position() + it->length();
  }
  return out + rename(text.substr(done));
}

void rename_strings(json& j, const std::vector<std::pair<std::string, std::string>>& renames) {
  if (j.is_string()) {
    j = renamed(j.get<std::string>(), renames);
  } else if (j.is_array() || j.is_object()) {
    for (auto& v : j) rename_strings(v, renames);
  }
}

// "AdrenalMNIST3D" -> "Adrenal", the word arm names and prose use.
std::string short_name(const std::string& display) {
  const size_t at = display.find("MNIST");
  return display.substr(0, at);
}

void add_renames(std::vector<std::pair<std::string, std::string>>& renames, const std::string& from,
                 const std::string& to, int dims, const std::string& flag) {
  if (to.empty()) return;
  const data::DatasetInfo& target = data::find_dataset(to);
  MN_CHECK_USAGE(target.spatial_dims() == dims, flag, " ", to, " is a ", target.spatial_dims(), "D dataset; ",
                 flag, " takes a ", dims, "D one");
  MN_CHECK_USAGE(!from.empty(), flag, ": the study file names no ", dims, "D dataset (\"datasets\": {\"",
                 dims, "d\": FLAG}) to replace");
  const data::DatasetInfo& source = data::find_dataset(from);
  if (source.flag == target.flag) return;
  const std::string a = short_name(source.display_name), b = short_name(target.display_name);
  // Whole names first, so that a short name never rewrites a longer one already replaced.
  renames.push_back({source.display_name, target.display_name});
  renames.push_back({source.flag, target.flag});
  renames.push_back({a, b});
  renames.push_back({core::to_lower(a), core::to_lower(b)});
}

}  // namespace

StudySpec with_datasets(StudySpec study, const std::string& dataset_2d, const std::string& dataset_3d,
                        const std::string& flag_2d, const std::string& flag_3d) {
  std::vector<std::pair<std::string, std::string>> renames;
  add_renames(renames, study.dataset_2d, dataset_2d, 2, flag_2d);
  add_renames(renames, study.dataset_3d, dataset_3d, 3, flag_3d);
  if (!dataset_2d.empty()) study.dataset_2d = data::find_dataset(dataset_2d).flag;
  if (!dataset_3d.empty()) study.dataset_3d = data::find_dataset(dataset_3d).flag;
  study.name = renamed(study.name, renames);
  study.description = renamed(study.description, renames);
  for (auto& stage : study.stages) {
    // The study file's words about a stage's arms and runs name them as the stage file does.
    stage.arm = renamed(stage.arm, renames);
    for (auto& skip : stage.cpu_skip) {
      skip.arm = renamed(skip.arm, renames);
      skip.why = renamed(skip.why, renames);
    }
    std::map<std::string, std::string> runs;
    for (const auto& [from, to] : stage.runs) runs[renamed(from, renames)] = renamed(to, renames);
    stage.runs = runs;
    stage.renames.insert(stage.renames.end(), renames.begin(), renames.end());
  }
  return study;
}

json effective_stage_file(const StageSpec& s, const StudyPreset& preset, const std::string& out) {
  json j = core::read_json_file(s.file, "stage '" + s.name + "' file");
  const auto patch = preset.patch.find(s.name);
  if (patch != preset.patch.end()) j.merge_patch(patch->second);
  rename_strings(j, s.renames);
  const char* list = s.kind == StageKind::Cam ? "entries" : s.kind == StageKind::Quant ? "models" : nullptr;
  if ((s.kind == StageKind::Trust || s.kind == StageKind::Robustness) && j.contains("folders") &&
      j.at("folders").is_array()) {
    for (auto& f : j["folders"])
      if (f.is_string()) f = study_run_path(s, f.get<std::string>(), out);
  }
  if (list && j.contains(list) && j.at(list).is_array()) {
    for (auto& e : j[list]) {
      if (e.is_object() && e.contains("run") && e.at("run").is_string())
        e["run"] = study_run_path(s, e.at("run").get<std::string>(), out);
    }
  }
  return j;
}

}  // namespace mednet::experiments
