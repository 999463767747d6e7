#pragma once
// calibration.json in a run folder (written by mednet trust, read by mednet predict): the temperature fitted
// on validation and the conformal threshold, as readers apply them. Writer and reader live together; the
// reader refuses a file that lies (a temperature of 0 or NaN, a coverage outside (0, 1), thresholds that do
// not fit the run's task) with an error naming the file.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "mednet/data/catalog.h"
#include "mednet/metrics/calibration.h"
#include "mednet/trust/conformal.h"

namespace mednet::trust {

struct CalibrationFile {
  double temperature = 1;
  std::string fitted_on = "val";
  int64_t fitted_size = 0;  ///< images of the split the temperature and the threshold were fitted on
  double nll_before = 0, nll_after = 0;
  ConformalThreshold conformal;
};

void write_calibration_file(const std::string& path, const CalibrationFile& c);

/// A conformal threshold as calibration.json and trust.json hold it.
nlohmann::json conformal_json(const ConformalThreshold& t);

/// The file for a run of this task and output count; nullopt when there is none.
std::optional<CalibrationFile> read_calibration_file(const std::string& path, data::Task task, int outputs);

/// A labelled split's scores with a calibration file applied (mednet eval --calibrated).
struct CalibratedSplit {
  at::Tensor probs;  ///< temperature-scaled
  metrics::CalibrationScores before, after;
  SetReport sets;  ///< the file's conformal sets on this split
};
CalibratedSplit apply_calibration(data::Task task, const at::Tensor& labels, const at::Tensor& probs,
                                  const CalibrationFile& c);

}  // namespace mednet::trust
