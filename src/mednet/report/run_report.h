#pragma once
// What a finished run leaves for people to read: metrics.json and learning_curves.png.
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "mednet/train/trainer.h"

namespace mednet::report {

struct RunSummary {
  const train::TrainConfig* config = nullptr;
  const train::TrainResult* result = nullptr;
  int64_t params = 0;
  int threads = 0;
  std::string device;
  std::string data_file;
  std::string md5_status;
};

nlohmann::json metrics_json(const RunSummary& s);

/// Writes learning_curves.png (loss; AUC and ACC; train and validation; best epoch marked).
void write_learning_curves(const std::vector<train::EpochRecord>& history, int best_epoch,
                           const std::string& title, const std::string& path);

}  // namespace mednet::report
