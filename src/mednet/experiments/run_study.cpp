#include "mednet/experiments/run_study.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>

#include "mednet/core/error.h"
#include "mednet/core/folder_lock.h"
#include "mednet/core/fs.h"
#include "mednet/core/json.h"
#include "mednet/core/runtime.h"
#include "mednet/data/catalog.h"
#include "mednet/data/dataset.h"
#include "mednet/experiments/cam_gallery.h"
#include "mednet/experiments/quant_experiment.h"
#include "mednet/experiments/robustness_experiment.h"
#include "mednet/experiments/run_experiment.h"
#include "mednet/experiments/study_report.h"
#include "mednet/experiments/trust_experiment.h"

namespace mednet::experiments {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A single train config becomes an experiment of one arm, so every train stage has one layout.
json as_experiment(const StageSpec& s, json j) {
  if (j.contains("arms")) return j;
  json e{{"name", j.value("name", s.name)}, {"description", j.value("description", std::string())}};
  e["seeds"] = json::array({j.value("seed", uint64_t{0})});
  j.erase("name");
  j.erase("description");
  e["base"] = j;
  e["arms"] = json::array({{{"name", s.arm}, {"label", e["name"]}}});
  return e;
}

void drop_arm(json& e, const std::string& arm) {
  auto& arms = e["arms"];
  for (auto it = arms.begin(); it != arms.end(); ++it) {
    if (it->value("name", "") == arm) {
      arms.erase(it);
      break;
    }
  }
  for (const char* key : {"gradient_flow"}) {
    if (!e.contains(key)) continue;
    json kept = json::array();
    for (const auto& a : e[key])
      if (a != arm) kept.push_back(a);
    e[key] = kept;
  }
  if (e.contains("comparisons")) {
    json kept = json::array();
    for (const auto& c : e["comparisons"])
      if (c.value("a", "") != arm && c.value("b", "") != arm) kept.push_back(c);
    e["comparisons"] = kept;
  }
}

StageOutcome run_train_stage(const StageSpec& s, const StudyPreset& preset, const std::string& out,
                             const StudyOptions& o, const c10::Device& device,
                             train::TrainObserver& observer) {
  StageOutcome r{s.name, "done", "", 0};
  json e = as_experiment(s, effective_stage_file(s, preset, out));
  if (!s.seeds.empty()) e["seeds"] = s.seeds;
  if (!preset.seeds.empty()) e["seeds"] = preset.seeds;
  if (device.is_cpu()) {
    for (const auto& skip : s.cpu_skip) {
      observer.on_message("skipped on CPU: " + s.name + " arm '" + skip.arm + "' (" + skip.why +
                          "); run the study with --device cuda to include it");
      drop_arm(e, skip.arm);
      r.message += (r.message.empty() ? "" : "; ") + std::string("arm '") + skip.arm + "' skipped on CPU (" +
                   skip.why + ")";
    }
  }
  const std::string dir = out + "/" + s.name;
  fs::create_directories(dir);
  const std::string file = dir + "/study_stage.json";
  core::write_file_atomic(file, e.dump(2) + "\n");
  const ExperimentSpec spec = experiment_from_json(e);
  ExperimentRunOptions eo;
  eo.check_md5 = o.check_md5;
  eo.report_only = o.report_only;
  eo.override_config = [&](run::TrainConfig& c) {
    if (!preset.train.empty()) {
      json cj = run::to_json(c);
      cj.merge_patch(preset.train);
      c = run::config_from_json(cj);
    }
    c.device = o.device;
    if (!o.root.empty()) c.root = o.root;
    if (o.threads > 0) c.threads = o.threads;
  };
  const ExperimentOutcome x = run_experiment(spec, file, dir, eo, observer);
  if (x.trained == 0) r.status = "already complete";
  if (x.interrupted) r.status = "interrupted";
  if (x.nan_loss)
    r.message += (r.message.empty() ? "" : "; ") + std::string("a run stopped on a non-finite loss");
  return r;
}

// Writes OUT/<stage>/study_stage.json (the stage's file as the study runs it) and returns its path, or
// "" when the stage's last output already exists (or nothing is to run).
std::string stage_file_unless_complete(const StageSpec& s, const StudyPreset& preset, const std::string& out,
                                       const std::string& last_output, const StudyOptions& o) {
  if (fs::exists(last_output) || o.report_only) return "";
  const std::string dir = out + "/" + s.name;
  fs::create_directories(dir);
  const std::string file = dir + "/study_stage.json";
  core::write_file_atomic(file, effective_stage_file(s, preset, out).dump(2) + "\n");
  return file;
}

StageOutcome run_cam_stage(const StageSpec& s, const StudyPreset& preset, const std::string& out,
                           const StudyOptions& o, train::TrainObserver& observer) {
  const std::string dir = out + "/" + s.name;
  const std::string file = stage_file_unless_complete(s, preset, out, dir + "/gallery.md", o);
  if (file.empty()) return {s.name, "already complete", "", 0};
  explain::CamStudyOptions c;
  c.out = dir;
  c.root = o.root;
  c.device = o.device;
  c.check_md5 = o.check_md5;
  run_cam_gallery(file, c, [&](const std::string& line) { observer.on_message(line); });
  return {s.name, "done", "", 0};
}

StageOutcome run_quant_stage(const StageSpec& s, const StudyPreset& preset, const std::string& out,
                             const StudyOptions& o, train::TrainObserver& observer) {
  const std::string dir = out + "/" + s.name;
  const std::string file = stage_file_unless_complete(s, preset, out, dir + "/summary.json", o);
  if (file.empty()) return {s.name, "already complete", "", 0};
  const QuantExperiment e = load_quant_experiment(file);
  run_quant_experiment(e, dir, o.root, o.check_md5,
                       [&](const std::string& line) { observer.on_message(line); });
  return {s.name, "done", "", 0};
}

// A stage that checks every finished run under its file's folders (trust, robustness): run(file, stage
// folder, options, log) does the work and returns the runs it checked.
using PerRunStage = std::function<std::vector<std::string>(const std::string&, const std::string&,
                                                           const TrustExperimentOptions&,
                                                           const std::function<void(const std::string&)>&)>;

StageOutcome run_per_run_stage(const StageSpec& s, const StudyPreset& preset, const std::string& out,
                               const StudyOptions& o, train::TrainObserver& observer,
                               const PerRunStage& run) {
  const std::string dir = out + "/" + s.name;
  const std::string file = stage_file_unless_complete(s, preset, out, dir + "/summary.json", o);
  if (file.empty()) return {s.name, "already complete", "", 0};
  TrustExperimentOptions t;
  t.root = o.root;
  t.check_md5 = o.check_md5;
  t.relative_to = out;
  const auto runs = run(file, dir, t, [&](const std::string& line) { observer.on_message(line); });
  return {s.name, "done", std::to_string(runs.size()) + " runs", 0};
}

StageOutcome run_trust_stage(const StageSpec& s, const StudyPreset& preset, const std::string& out,
                             const StudyOptions& o, train::TrainObserver& observer) {
  return run_per_run_stage(s, preset, out, o, observer,
                           [](const auto& file, const auto& dir, const auto& t, const auto& log) {
                             return run_trust_experiment(load_trust_experiment(file), dir, t, log);
                           });
}

StageOutcome run_robustness_stage(const StageSpec& s, const StudyPreset& preset, const std::string& out,
                                  const StudyOptions& o, train::TrainObserver& observer) {
  return run_per_run_stage(s, preset, out, o, observer,
                           [](const auto& file, const auto& dir, const auto& t, const auto& log) {
                             return run_robustness_experiment(load_robustness_experiment(file), dir, t, log);
                           });
}

// stages.json: how each stage ended, written after every stage so that a killed study keeps the record
// of what it finished. A stage found complete is recorded as done, with the seconds and note of the call
// that ran it when that call recorded them, so the report does not depend on how many calls it took.
class StageRecord {
 public:
  /// report_only: nothing ran, so nothing is recorded or written.
  StageRecord(std::string path, bool report_only) : path_(std::move(path)), report_only_(report_only) {
    try {
      if (fs::exists(path_)) previous_ = core::read_json_file(path_, "stages.json", true);
    } catch (const Error&) {
    }
    if (!previous_.is_object()) previous_ = json::object();
    record_ = previous_;
  }

  /// Records how st ended and writes the file; st's message says when an earlier call did the work.
  void settle(StageOutcome& st) {
    if (st.status == "already complete") {
      const json* earlier = previous_.contains(st.name) ? &previous_[st.name] : nullptr;
      if (earlier && earlier->is_object() && earlier->value("status", "") == "done") {
        record_[st.name] = *earlier;  // the call that ran it stays on record
        st.seconds = core::number_at(*earlier, "seconds");
        const std::string said = earlier->value("message", "");
        st.message = "done by an earlier call" + (said.empty() ? "" : "; " + said);
      } else if (!report_only_) {
        // Finished by a call that was stopped before it could say so: done, its time unknown.
        record_[st.name] = {{"status", "done"}, {"message", st.message}, {"seconds", nullptr}};
        st.seconds = std::nan("");
      }
    } else if (!report_only_) {
      record_[st.name] = {{"status", st.status}, {"message", st.message}, {"seconds", st.seconds}};
    }
    if (!report_only_) core::write_file_atomic(path_, record_.dump(2) + "\n");
  }

  /// The stages as the report shows them: as recorded, whichever call ran them.
  std::vector<StageOutcome> for_report(const std::vector<StageOutcome>& stages) const {
    std::vector<StageOutcome> out;
    for (const auto& st : stages) {
      if (!record_.contains(st.name) || !record_.at(st.name).is_object()) {
        out.push_back(st);
        continue;
      }
      const json& r = record_.at(st.name);
      out.push_back({st.name, r.value("status", st.status), r.value("message", st.message),
                     core::number_at(r, "seconds")});
    }
    return out;
  }

 private:
  std::string path_;
  bool report_only_;
  json previous_, record_;
};

// One study folder holds one pair of datasets (OUT/datasets.json): a folder run on others is neither
// resumed nor reported as these. Before anything runs, the datasets' files must be on the machine.
void check_datasets(const StudySpec& study, const std::string& out, const StudyOptions& o) {
  const json datasets{{"2d", study.dataset_2d}, {"3d", study.dataset_3d}};
  const std::string file = out + "/datasets.json";
  if (fs::exists(file)) {
    const json was = core::read_json_file(file, "datasets.json");
    MN_CHECK_USAGE(was == datasets, out, " holds the study on ", was.value("2d", std::string("?")), " and ",
                   was.value("3d", std::string("?")), ", not on ", study.dataset_2d, " and ",
                   study.dataset_3d, "; give --dataset-2d and --dataset-3d as then, or another --out");
  }
  if (o.report_only) return;
  for (const std::string& flag : {study.dataset_2d, study.dataset_3d})
    if (!flag.empty()) data::locate_file(data::find_dataset(flag), 28, o.root);
  core::write_file_atomic(file, datasets.dump(2) + "\n");
}

}  // namespace

StudyOutcome run_study(const StudySpec& study, const std::string& study_file, const std::string& out,
                       const StudyOptions& o, train::TrainObserver& observer) {
  const auto p = study.presets.find(o.preset);
  MN_CHECK_USAGE(p != study.presets.end(), "--preset '", o.preset, "' is not in ", study_file);
  const StudyPreset& preset = p->second;
  const c10::Device device = core::resolve_device(o.device);
  // One writer per study folder; rewriting the report only reads what the runs left.
  const core::FolderLock lock = o.report_only ? core::FolderLock() : core::FolderLock::acquire(out);
  fs::create_directories(out);
  check_datasets(study, out, o);
  core::write_file_atomic(out + "/study.json", core::read_file(study_file));
  core::write_file_atomic(out + "/preset.txt", o.preset + "\n");
  StageRecord record(out + "/stages.json", o.report_only);
  StudyOutcome outcome;
  for (size_t i = 0; i < study.stages.size(); ++i) {
    const StageSpec& s = study.stages[i];
    if (outcome.interrupted) {
      outcome.stages.push_back({s.name, "not run", "the study was interrupted", 0});
      record.settle(outcome.stages.back());
      continue;
    }
    observer.on_message("\n##### stage " + std::to_string(i + 1) + "/" + std::to_string(study.stages.size()) +
                        ": " + s.name + " (" + stage_kind_name(s.kind) + ", " + s.file + ") -> " + out + "/" +
                        s.name);
    const auto t0 = std::chrono::steady_clock::now();
    StageOutcome r;
    try {
      r = s.kind == StageKind::Train   ? run_train_stage(s, preset, out, o, device, observer)
          : s.kind == StageKind::Cam   ? run_cam_stage(s, preset, out, o, observer)
          : s.kind == StageKind::Quant ? run_quant_stage(s, preset, out, o, observer)
          : s.kind == StageKind::Trust ? run_trust_stage(s, preset, out, o, observer)
                                       : run_robustness_stage(s, preset, out, o, observer);
    } catch (const std::exception& e) {
      r = {s.name, "failed", e.what(), 0};
      outcome.failed = true;
      observer.on_message("stage " + s.name + " failed: " + r.message);
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    outcome.interrupted = r.status == "interrupted";
    record.settle(r);
    outcome.stages.push_back(r);
  }
  const StudyReport rep = write_study_report(study, out, record.for_report(outcome.stages));
  outcome.report_md = rep.markdown_path;
  outcome.report_html = rep.html_path;
  outcome.gaps = rep.gaps;
  return outcome;
}

}  // namespace mednet::experiments
