#pragma once
// A folder loaded once by `mednet serve`, of one of three kinds:
//   a trained run (best.pt): its model, calibration.json, ood.safetensors and test-time flips;
//   an ensemble (mednet ensemble's ensemble.json): the mean of its members' probabilities, each member
//     scored as the ensemble scored it (its flips, its temperature), then the folder's calibration.json;
//   an int8 model (mednet quantize's model_int8.safetensors): its int8 network, then the folder's
//     calibration.json.
// Forward passes without gradients run from any worker at once; a map needs gradients on a shared float
// model, so maps of one model are made one at a time (an int8 model has none).
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mednet/deploy/predict.h"
#include "mednet/explain/cam.h"
#include "mednet/quant/int8_net.h"
#include "mednet/trust/scoring_nets.h"

namespace mednet::serve {

enum class ServedKind { Run, Ensemble, Int8 };
std::string kind_name(ServedKind kind);

/// A float network of the model: the run itself, or one member of an ensemble, with its maps.
struct ServedNet : trust::ScoringNet {
  ServedNet() = default;
  explicit ServedNet(trust::ScoringNet&& net) : trust::ScoringNet(std::move(net)) {}
  std::map<std::string, std::unique_ptr<explain::Attribution>> maps;  ///< made on first use
};

struct ServedModel {
  ServedKind kind = ServedKind::Run;
  std::string name, dir;
  run::TrainConfig config;  ///< the run's (an ensemble: its first member's)
  const data::DatasetInfo* info = nullptr;
  std::vector<ServedNet> nets;         ///< a run: itself; an ensemble: its members; int8: none
  std::optional<quant::Int8Net> int8;  ///< an int8 model's network
  std::string source_run;              ///< int8: the float run it was made from (quant.json)
  deploy::Scoring scoring;             ///< a run: all of it; otherwise the folder's calibration.json
  c10::Device device = c10::kCPU;
  std::mutex map_mutex;  ///< held while a map is made
};

/// "NAME=DIR" or "DIR" (the name: the folder's own name).
std::pair<std::string, std::string> parse_model_arg(const std::string& arg);

/// Tells the folder's kind by its files and loads it; a folder of none of the kinds is a usage error
/// naming it.
std::unique_ptr<ServedModel> load_served_model(const std::string& name, const std::string& dir,
                                               const c10::Device& device);

/// Probabilities (calibrated where the model has calibration.json), sets and OOD scores of conformed
/// inputs (uint8 [N, C, S...]) in one pass per network.
deploy::BatchScores score_images(ServedModel& m, const at::Tensor& images_u8);

/// Why the model makes no maps ("" when it does).
std::string why_no_map(const ServedModel& m, const std::string& method);

/// The map of a class for one conformed input ([1, C, S...]), in [0, 1] at the network's grid: the run's,
/// or the mean of an ensemble's members' maps. An int8 model is an error saying why it has none.
at::Tensor class_map(ServedModel& m, const std::string& method, const at::Tensor& image_u8, int64_t target,
                     std::string* layer);

/// GET /v1/models: name, kind, dataset, task, labels, input shape and which trust parts the model has.
nlohmann::json describe_model(const ServedModel& m);

/// "cnn on RetinaMNIST 28 px (a trained run), calibrated with prediction sets, ..." for the start-up lines.
std::string model_summary(const ServedModel& m);

}  // namespace mednet::serve
