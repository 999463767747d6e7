#pragma once
// A trained run applied to a person's own files: each input read, brought to what the run was trained
// on (data/user_input.h), scored in batches, and written as predictions.csv. An input that cannot be
// read is reported with its reason and the others are still predicted.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "mednet/engine/tta.h"
#include "mednet/run/open_run.h"
#include "mednet/trust/calibration_file.h"
#include "mednet/trust/ood_file.h"

namespace mednet::deploy {

/// The files as given, then every .png/.jpg/.jpeg/.npy/.nii/.nii.gz in dir (sorted by name). A folder that
/// holds none, or that does not exist, is an error naming it; no inputs at all is a usage error.
std::vector<std::string> collect_inputs(const std::vector<std::string>& files, const std::string& dir);

struct Prediction {
  std::string path;
  std::string error;          ///< why it was not predicted (empty when it was)
  int64_t predicted = -1;     ///< class index (multi-label: the most probable label)
  std::vector<double> probs;  ///< temperature-scaled when the run has calibration.json (and it is used)
  std::vector<int64_t> set;  ///< with calibration.json: the conformal set (multi-label: labels maybe present)
  std::vector<std::string> steps;  ///< how the input was conformed
  std::vector<std::string> maps;   ///< files written with --cam
  std::vector<int64_t> peak;       ///< 3D with --cam: the map's peak (x, y, z) on the input grid
  bool map_zero = false;           ///< the map is 0 everywhere
  double ood_score = 0;            ///< with ood.safetensors: the input's score (higher: more like training)
  bool unlike = false;             ///< below the score's threshold: unlike the training data
  std::string map_error;           ///< why the map was not written (the prediction stands)
};

struct PredictOutcome {
  std::vector<Prediction> items;  ///< in input order
  std::vector<std::string> labels;
  size_t failed = 0;       ///< inputs not predicted
  size_t maps_failed = 0;  ///< predicted inputs whose map could not be written
  /// Each distinct conversion with the number of inputs it applied to: "RGB to gray; resized ... (12
  /// inputs)".
  std::vector<std::string> conversions;
  /// The run's calibration.json as applied (mednet trust wrote it); none when absent or not used.
  std::optional<trust::CalibrationFile> calibration;
  /// The run's ood.safetensors as applied (mednet trust wrote it) and the score used; none when absent or
  /// not used.
  std::optional<trust::OodDetector> ood;
  std::string ood_score;
};

struct PredictOptions {
  int batch_size = 256;
  std::string cam;        ///< "" (none) or a method of explain::cam_methods(): a map of the predicted class
  std::string cam_dir;    ///< where the maps go (created)
  std::string cam_layer;  ///< empty: the last convolutional stage
  bool calibrated =
      true;  ///< apply the run's calibration.json when it has one: temperature and conformal sets
  /// With the run's ood.safetensors, flag inputs below this score's threshold; empty: no check.
  std::string ood_score = trust::kDefaultOodScore;
};

/// What scoring a run needs besides its model, read once: its calibration.json, its ood.safetensors with
/// the score used, and its own test-time flips (config "tta"), as its result files were scored.
struct Scoring {
  std::optional<trust::CalibrationFile> calibration;
  std::optional<trust::OodDetector> ood;
  std::string ood_score;
  engine::FlipSets views;
};
Scoring scoring_for(const run::OpenRun& run, const PredictOptions& options);

/// One forward pass over conformed inputs (uint8 [N, C, S...]): probabilities (double [N, C],
/// temperature-scaled with a calibration), the conformal sets (bool [N, C]; multi-label: labels that may
/// be present) and the out-of-distribution scores and passes (undefined when the part is absent).
struct BatchScores {
  at::Tensor probs, sets, ood_scores, passes;
};
BatchScores score_batch(models::ClassifierImpl& model, const data::DatasetInfo& info, const Scoring& s,
                        const at::Tensor& images, const c10::Device& device, int batch_size);
/// With a calibration: the probabilities temperature-scaled and the conformal sets added (in place).
void calibrate_scores(data::Task task, const Scoring& s, BatchScores& b);
/// Row k of the scores into p: probabilities, predicted class, set, OOD score and flag.
void fill_prediction(Prediction& p, const BatchScores& b, int64_t k);

PredictOutcome predict_files(run::OpenRun& run, const std::vector<std::string>& paths,
                             const c10::Device& device, const PredictOptions& options,
                             const std::function<void(size_t done, size_t total)>& progress = {});

/// predictions.csv: a '#' line saying it is not a standard result file, a header (file, predicted,
/// one p_<label> per class, with calibration.json the set, with ood.safetensors the score and the flag,
/// error), one row per input.
void write_predictions_csv(const std::string& path, const PredictOutcome& o);

/// "unlike the training data (mahalanobis -812.4 < -95.1)" for a flagged input, else "".
std::string ood_text(const PredictOutcome& o, const Prediction& p);

/// "90%": the coverage of the conformal sets of a calibration file.
std::string set_name(const trust::CalibrationFile& c);
/// An input's set as its labels: "1 or 2".
std::string set_text(const PredictOutcome& o, const Prediction& p);

}  // namespace mednet::deploy
