#pragma once
// Opening a run directory: its config.json, its dataset, and the model with best.pt loaded. The one
// sequence that `mednet eval`, `mednet cam`, `mednet quantize` and transfer from another run share.
#include <string>

#include <c10/core/Device.h>

#include "mednet/data/dataset.h"
#include "mednet/models/classifier.h"
#include "mednet/run/config.h"
#include "mednet/run/run_files.h"

namespace mednet::run {

struct OpenRunOptions {
  std::string root;        ///< folder of the .npz files; empty: the run's own (config.json's root)
  bool check_md5 = true;   ///< false for own files in the official format
  bool load_data = true;   ///< open the dataset file
  bool load_model = true;  ///< build the model and load best.pt (an error when there is none)
  c10::Device device = c10::kCPU;
  /// The run's config when the caller has already read config.json (null: open_run reads it).
  const TrainConfig* config = nullptr;
};

struct OpenRun {
  explicit OpenRun(const std::string& dir) : files(dir) {}
  RunFiles files;
  TrainConfig config;
  const data::DatasetInfo* info = nullptr;
  data::MedMnist data;       ///< empty unless load_data
  models::Classifier model;  ///< best.pt on the device, eval mode; null unless load_model
};

/// Where a new run may go: a missing or empty folder. A folder holding a run is a usage error pointing
/// at --resume; any other non-empty folder, or a file, is a usage error too (a new run never writes over
/// what is there, a person's own config.json included).
void check_new_run_dir(const std::string& dir);

/// A usage error names the folder when it is not a run directory or has no best.pt.
OpenRun open_run(const std::string& dir, const OpenRunOptions& options = {});

}  // namespace mednet::run
