#include "mednet/deploy/predict.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/strings.h"
#include "mednet/data/dataset.h"
#include "mednet/data/user_input.h"
#include "mednet/deploy/cam_maps.h"
#include "mednet/engine/evaluate.h"
#include "mednet/explain/methods.h"
#include "mednet/metrics/metrics.h"
#include "mednet/trust/ood.h"
#include "mednet/trust/temperature.h"

namespace mednet::deploy {

namespace fs = std::filesystem;

std::vector<std::string> collect_inputs(const std::vector<std::string>& files, const std::string& dir) {
  std::vector<std::string> out = files;
  if (!dir.empty()) {
    MN_CHECK(fs::is_directory(dir), "--dir ", dir, ": no such folder");
    std::vector<std::string> found;
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.is_regular_file() && data::is_input_file(e.path().string())) found.push_back(e.path().string());
    }
    MN_CHECK(!found.empty(), "--dir ", dir,
             ": the folder holds no .png, .jpg, .jpeg, .npy, .nii or .nii.gz file");
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  MN_CHECK_USAGE(!out.empty(), "no inputs: give files, or --dir FOLDER");
  return out;
}

Scoring scoring_for(const run::OpenRun& run, const PredictOptions& options) {
  MN_CHECK(run.info, "predict: the run's dataset is not known");
  const data::DatasetInfo& info = *run.info;
  Scoring s;
  if (options.calibrated)
    s.calibration =
        trust::read_calibration_file(run.files.dir + "/calibration.json", info.task, info.num_outputs());
  if (!options.ood_score.empty()) {
    trust::check_ood_score(options.ood_score);
    s.ood = trust::read_ood_file(run.files.dir + "/ood.safetensors");
    if (s.ood) s.ood_score = options.ood_score;
  }
  s.views = engine::tta_views(run.config.tta, run.config.augment);
  return s;
}

BatchScores score_batch(models::ClassifierImpl& model, const data::DatasetInfo& info, const Scoring& s,
                        const at::Tensor& images, const c10::Device& device, int batch_size) {
  BatchScores b;
  if (s.ood) {
    const trust::OodFeatures f = trust::ood_features(model, images, device, batch_size);
    b.ood_scores = trust::ood_score(info.task, s.ood_score, f, s.ood->fit).contiguous();
    b.passes = trust::ood_passes(*s.ood, s.ood_score, b.ood_scores);
    if (s.views.empty()) {  // the same forward pass gives the probabilities
      b.probs = metrics::probabilities(info.task, f.logits);
      engine::check_finite_probabilities(b.probs);
    }
  }
  if (!b.probs.defined()) b.probs = engine::predict(model, images, info.task, device, batch_size, s.views);
  b.probs = b.probs.to(at::kDouble).contiguous();
  calibrate_scores(info.task, s, b);
  return b;
}

void calibrate_scores(data::Task task, const Scoring& s, BatchScores& b) {
  if (!s.calibration) return;
  b.probs = trust::apply_temperature(task, b.probs, s.calibration->temperature).contiguous();
  b.sets = trust::prediction_sets(task, b.probs, s.calibration->conformal);
  if (task == data::Task::MultiLabel) b.sets = b.sets.select(2, 1);  // labels that may be present
}

void fill_prediction(Prediction& p, const BatchScores& b, int64_t k) {
  if (b.ood_scores.defined()) {
    p.ood_score = b.ood_scores[k].item<double>();
    p.unlike = !b.passes[k].item<bool>();
  }
  const at::Tensor row = b.probs[k];
  p.probs.assign(row.data_ptr<double>(), row.data_ptr<double>() + row.numel());
  p.predicted = row.argmax().item<int64_t>();
  p.set.clear();
  if (b.sets.defined()) {
    const at::Tensor in = b.sets[k];
    for (int64_t c = 0; c < in.size(0); ++c)
      if (in[c].item<bool>()) p.set.push_back(c);
  }
}

PredictOutcome predict_files(run::OpenRun& run, const std::vector<std::string>& paths,
                             const c10::Device& device, const PredictOptions& options,
                             const std::function<void(size_t, size_t)>& progress) {
  const int batch_size = options.batch_size;
  MN_CHECK(run.model && run.info, "predict: the run's model is not loaded");
  const data::DatasetInfo& info = *run.info;
  PredictOutcome o;
  o.labels = info.labels;
  const Scoring scoring = scoring_for(run, options);
  o.calibration = scoring.calibration;
  o.ood = scoring.ood;
  o.ood_score = scoring.ood_score;
  std::map<std::string, size_t> conversions;
  std::vector<size_t> pending;
  std::vector<at::Tensor> batch;
  std::vector<data::InputFile> originals;  // with --cam: each pending input as read
  std::unique_ptr<explain::Attribution> cam;
  std::map<std::string, int> stems;  // map file names already taken
  if (!options.cam.empty()) {
    cam = explain::make_cam(options.cam, *run.model, options.cam_layer);
    MN_CHECK(!options.cam_dir.empty(), "predict: no folder given for the maps");
    fs::create_directories(options.cam_dir);
  }
  auto write_maps = [&](const at::Tensor& images) {
    const at::Tensor targets = torch::tensor(
        [&] {
          std::vector<int64_t> t;
          for (size_t k : pending) t.push_back(o.items[k].predicted);
          return t;
        }(),
        torch::kLong);
    const explain::CamResult r = cam->compute(data::to_network_input(images).to(device), targets.to(device));
    for (size_t k = 0; k < pending.size(); ++k) {
      Prediction& p = o.items[pending[k]];
      std::string stem = data::input_stem(p.path);
      const int seen = stems[stem]++;
      if (seen > 0) stem += "_" + std::to_string(seen + 1);
      try {
        const CamFiles f =
            write_cam_files(options.cam_dir + "/" + stem + "." + cam->name(), originals[k].data,
                            originals[k].geometry, r.maps[static_cast<int64_t>(k)]);
        p.maps = f.written;
        p.peak = f.peak;
        p.map_zero = f.zero;
      } catch (const std::exception& e) {
        p.map_error = e.what();
        ++o.maps_failed;
      }
    }
  };
  auto flush = [&] {
    if (batch.empty()) return;
    const at::Tensor images = torch::stack(batch);
    const BatchScores scores = score_batch(*run.model, info, scoring, images, device, batch_size);
    for (size_t k = 0; k < pending.size(); ++k)
      fill_prediction(o.items[pending[k]], scores, static_cast<int64_t>(k));
    if (cam) write_maps(images);
    pending.clear();
    batch.clear();
    originals.clear();
  };
  for (size_t i = 0; i < paths.size(); ++i) {
    Prediction p;
    p.path = paths[i];
    try {
      data::InputFile in = data::read_input_file(paths[i], info.spatial_dims());
      const data::Conformed c = data::conform(in.data, info, run.config.size);
      p.steps = c.steps;
      ++conversions[core::join(data::conversion_lines(c, info, run.config.size), "; ")];
      pending.push_back(o.items.size());
      batch.push_back(c.image);
      if (cam) originals.push_back(std::move(in));
    } catch (const std::exception& e) {
      std::string what = e.what();
      if (what.find(paths[i]) == std::string::npos) what = paths[i] + ": " + what;
      p.error = what;
      ++o.failed;
    }
    o.items.push_back(std::move(p));
    if (static_cast<int>(batch.size()) >= batch_size) flush();
    if (progress) progress(i + 1, paths.size());
  }
  flush();
  for (const auto& [text, n] : conversions)
    o.conversions.push_back(text + " (" + std::to_string(n) + " input" + (n > 1 ? "s" : "") + ")");
  return o;
}

namespace {
std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
}  // namespace

std::string set_name(const trust::CalibrationFile& c) {
  return core::format_fixed(100 * c.conformal.coverage, 0) + "%";
}

std::string ood_text(const PredictOutcome& o, const Prediction& p) {
  if (!o.ood || !p.unlike) return "";
  return "unlike the training data (" + o.ood_score + " " + core::format_fixed(p.ood_score, 2) + " < " +
         core::format_fixed(o.ood->thresholds.at(o.ood_score), 2) + ")";
}

std::string set_text(const PredictOutcome& o, const Prediction& p) {
  std::vector<std::string> names;
  for (int64_t c : p.set) names.push_back(o.labels.at(static_cast<size_t>(c)));
  return core::join(names, " or ");
}

void write_predictions_csv(const std::string& path, const PredictOutcome& o) {
  std::string text =
      "# mednet predict: one row per input file; not a medmnist standard result file (mednet evaluate "
      "does not read it)\nfile,predicted";
  for (const auto& l : o.labels) text += "," + csv_cell("p_" + l);
  if (o.calibration) text += "," + csv_cell("set_" + set_name(*o.calibration));
  if (o.ood) text += "," + csv_cell("ood_" + o.ood_score) + ",ood_flag";
  text += ",error\n";
  char buf[32];
  for (const auto& p : o.items) {
    text += csv_cell(p.path) + "," +
            (p.error.empty() ? csv_cell(o.labels.at(static_cast<size_t>(p.predicted))) : "");
    for (size_t k = 0; k < o.labels.size(); ++k) {
      if (p.error.empty() && k < p.probs.size()) {
        std::snprintf(buf, sizeof buf, ",%.6f", p.probs[k]);
        text += buf;
      } else {
        text += ",";
      }
    }
    if (o.calibration) text += "," + csv_cell(p.error.empty() ? set_text(o, p) : "");
    if (o.ood) {
      if (p.error.empty()) {
        std::snprintf(buf, sizeof buf, ",%.6g", p.ood_score);
        text += buf;
        text += p.unlike ? ",unlike the training data" : ",";
      } else {
        text += ",,";
      }
    }
    text += "," + csv_cell(p.error) + "\n";
  }
  core::write_file_atomic(path, text);
}

}  // namespace mednet::deploy
