#pragma once
// Experiment 2D: every model of an experiment file quantized every way it lists, one table per model
// (size, val/test AUC and ACC, agreement with fp32, latency at batch 1 and 256), the targets
// checked row by row, and plots of size and latency against test AUC.
#include <functional>
#include <string>
#include <vector>

#include "mednet/quant/quantize_run.h"

namespace mednet::experiments {

using quant::KernelInfo;
using quant::LatencyOptions;
using quant::LoadedRun;
using quant::Method;
using quant::QuantizeOptions;
using quant::QuantizeResult;
using quant::Row;

struct QuantVariant {
  std::string name;   ///< folder name
  std::string label;  ///< table label
  Method mode = Method::Static;
  std::string observer = "minmax";
  int64_t calib = -1;  ///< -1: the file's
  int epochs = 3;      ///< qat
  double lr = 0;       ///< qat (0: a tenth of the run's)
};

struct QuantModelEntry {
  std::string name, label, run;
  std::string made_by;  ///< the command that trains the run (said when it is missing)
};

struct QuantExperiment {
  std::string name, description;
  int64_t calib = 512;
  LatencyOptions latency;
  std::vector<QuantModelEntry> models;
  std::vector<QuantVariant> variants;
};

QuantExperiment load_quant_experiment(const std::string& path);

struct QuantModelResult {
  QuantModelEntry entry;
  std::vector<Row> rows;                         ///< fp32 first
  std::vector<std::vector<KernelInfo>> kernels;  ///< per variant
};

/// Runs everything into out_dir/<model>/<variant>/ and writes summary.md, summary.json and the plots.
std::vector<QuantModelResult> run_quant_experiment(const QuantExperiment& e, const std::string& out_dir,
                                                   const std::string& root, bool check_md5,
                                                   const std::function<void(const std::string&)>& log);

/// The targets for one int8 row against fp32 (and the static row, for qat): lines of
/// "PASS|MISS what (numbers)".
std::vector<std::string> target_checks(const std::vector<Row>& rows,
                                       const std::vector<QuantVariant>& variants);

}  // namespace mednet::experiments
