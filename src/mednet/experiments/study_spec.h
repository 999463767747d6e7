#pragma once
// The whole study as one file (experiments/study.json): its stages in order, each an experiment file
// of one kind, and presets that shorten it.
//
//   {"name", "description",
//    "datasets": {"2d": "retinamnist", "3d": "adrenalmnist3d"},
//    "stages": [{"name": "exp1", "kind": "train", "file": "experiments/exp1_cnn3d_adrenal.json",
//                "seeds": [0, 1, 2], "cpu_skip": [{"arm": "...", "why": "..."}],
//                "runs": {"runs/exp1": "exp1/cnn3d/seed0"}}, ...],
//    "presets": {"quick": {"seeds": [0], "train": {"epochs": 3}, "patch": {"exp2c": {...}}}, "full": {}}}
//
// kind: train (an experiment file with arms, or a single train config run as one arm named by
// "arm"), cam (a Grad-CAM gallery file), quant (a quantization experiment file), trust (a trust
// experiment file: trust_experiment.h) or robustness (robustness_experiment.h). A stage's output is
// OUT/<name>/. Run paths in cam, quant, trust and robustness files ("runs/exp2a/...") point into the study
// folder: "runs" maps a path to one under OUT, and any other "runs/X" becomes OUT/X.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace mednet::experiments {

enum class StageKind { Train, Cam, Quant, Trust, Robustness };

struct CpuSkip {
  std::string arm, why;
};

struct StageSpec {
  std::string name;
  StageKind kind = StageKind::Train;
  std::string file;
  std::string arm = "model";      ///< the arm name of a single train config
  std::vector<uint64_t> seeds;    ///< train: replaces the file's seeds (empty: the file's)
  std::vector<CpuSkip> cpu_skip;  ///< train: arms too slow for a CPU
  std::map<std::string, std::string>
      runs;  ///< cam, quant, trust, robustness: run path in the file -> under OUT
  /// Words of the stage file replaced before it runs (the study's datasets by others), in order.
  std::vector<std::pair<std::string, std::string>> renames;
};

struct StudyPreset {
  std::vector<uint64_t> seeds;                      ///< every train stage (empty: the stage's)
  nlohmann::json train = nlohmann::json::object();  ///< merged over every run's config
  std::map<std::string, nlohmann::json> patch;      ///< merged over a stage's file, by stage
};

struct StudySpec {
  std::string name, description;
  std::string dataset_2d, dataset_3d;  ///< the study file's "datasets": {"2d": FLAG, "3d": FLAG}
  std::vector<StageSpec> stages;
  std::map<std::string, StudyPreset> presets;
};

/// Reads and checks a study file; stage files are resolved relative to the working directory.
StudySpec load_study(const std::string& path);

/// The same study on other datasets: every stage file, the study's name and description get the 2D
/// dataset's flag, name ("RetinaMNIST") and short name ("retina", as in arm names) replaced by those of
/// dataset_2d, likewise for 3D. An empty flag keeps the study's. A flag that is not in the catalog, or a
/// 3D flag for the 2D dataset (and the reverse), is a usage error naming flag_2d / flag_3d.
StudySpec with_datasets(StudySpec study, const std::string& dataset_2d, const std::string& dataset_3d,
                        const std::string& flag_2d = "--dataset-2d",
                        const std::string& flag_3d = "--dataset-3d");

/// The stage's file with the preset's patch merged over it, the stage's renames applied to its strings
/// and run paths pointed into out.
nlohmann::json effective_stage_file(const StageSpec& s, const StudyPreset& preset, const std::string& out);

/// A "runs/..." path of a cam or quant file, as the study sees it.
std::string study_run_path(const StageSpec& s, const std::string& path, const std::string& out);

std::string stage_kind_name(StageKind k);

}  // namespace mednet::experiments
