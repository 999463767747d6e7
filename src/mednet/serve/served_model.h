#pragma once
// A run folder loaded once by `mednet serve`: its model on the device, its calibration, OOD detector and
// test-time flips (deploy::Scoring), and the map methods made so far. Forward passes without gradients
// run from any worker at once; a map needs gradients on the shared model, so maps of one model are made
// one at a time.
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "mednet/deploy/predict.h"
#include "mednet/explain/cam.h"

namespace mednet::serve {

struct ServedModel {
  explicit ServedModel(const std::string& dir) : run(dir) {}
  std::string name;
  run::OpenRun run;
  deploy::Scoring scoring;
  c10::Device device = c10::kCPU;
  std::mutex map_mutex;  ///< held while a map is made (guards maps too)
  std::map<std::string, std::unique_ptr<explain::Attribution>> maps;
};

/// "NAME=DIR" or "DIR" (the name: the folder's own name). Two models of one name are a usage error.
std::pair<std::string, std::string> parse_model_arg(const std::string& arg);

/// Opens the run (config.json and best.pt; the data file is not read), with its calibration.json and
/// ood.safetensors when it has them (mednet trust writes them).
std::unique_ptr<ServedModel> load_served_model(const std::string& name, const std::string& dir,
                                               const c10::Device& device);

/// GET /v1/models: name, dataset, task, labels, input shape and which trust parts the run has.
nlohmann::json describe_model(const ServedModel& m);

}  // namespace mednet::serve
