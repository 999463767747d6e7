#pragma once
// mednet quantize: a trained run's best checkpoint turned into an int8 model directory (the int8
// file, the run's config.json, quant.json), with size, val/test AUC and ACC, agreement with the
// float model and latency measured for both.
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "mednet/data/dataset.h"
#include "mednet/engine/evaluate.h"
#include "mednet/metrics/bootstrap.h"
#include "mednet/quant/int8_net.h"
#include "mednet/quant/qat.h"
#include "mednet/run/config.h"

namespace mednet::quant {

/// How a run is quantized: dynamic range, full integer after calibration (static), or
/// quantization-aware training converted to full integer (qat).
enum class Method { Dynamic, Static, Qat };
Method parse_method(const std::string& name);
std::string method_name(Method method);

/// A trained run opened for quantization: config, data, and the float model on the CPU (eval mode).
struct LoadedRun {
  std::string dir;
  run::TrainConfig config;
  const data::DatasetInfo* info = nullptr;
  data::MedMnist data;
  models::Classifier model;
  int64_t fp32_bytes = 0;  ///< size of best.pt
};
LoadedRun load_run(const std::string& dir, const std::string& root = "", bool check_md5 = true);

struct LatencyOptions {
  bool enabled = true;
  int repeats_large = 5;    ///< timed runs at batch 256 (median reported)
  int repeats_single = 30;  ///< timed runs at batch 1
};

/// One row of a comparison: the float model or one int8 variant.
struct Row {
  std::string label;  ///< "fp32", "dynamic", "static (minmax)", ...
  int64_t file_bytes = 0;
  double val_auc = 0, val_acc = 0, test_auc = 0, test_acc = 0;
  double agreement = std::numeric_limits<double>::quiet_NaN();    ///< test predictions equal to fp32's
  double ms_batch1 = std::numeric_limits<double>::quiet_NaN();    ///< median latency, one image
  double ms_batch256 = std::numeric_limits<double>::quiet_NaN();  ///< median latency, 256 images
  int threads = 0;
  /// Test split, from per-sample predictions: the AUC's bootstrap interval, and the paired bootstrap of
  /// the change against fp32 (same test images, same resamples; NaN for the fp32 row itself).
  metrics::Interval test_auc_ci, test_auc_change_ci, test_acc_change_ci;
};

/// The float model's row (file size of best.pt).
Row fp32_row(LoadedRun& run, const LatencyOptions& latency);

struct QuantizeOptions {
  Method mode = Method::Static;
  int64_t calib = 512;  ///< training samples for calibration (static and qat)
  std::string observer = "minmax";
  int qat_epochs = 3;
  double qat_lr = 0;  ///< 0: a tenth of the run's learning rate
  LatencyOptions latency;
  std::string label;  ///< row label (default: mode and observer)
};

struct QuantizeResult {
  Row row;
  std::vector<KernelInfo> kernels;
  std::vector<QatEpoch> qat_history;
  int qat_best_epoch = 0;
  std::string engine;
  std::string model_path;
};

/// Converts run's model, writes out_dir (model_int8.safetensors, config.json, quant.json) and scores
/// it. fp32 (optional) is the float row to compare with: agreement is measured against the float
/// model's test predictions either way.
QuantizeResult quantize_run(LoadedRun& run, const QuantizeOptions& options, const std::string& out_dir,
                            const Row* fp32 = nullptr,
                            const std::function<void(const std::string&)>& log = {});

/// Evaluates an int8 model file on one split (for mednet eval).
engine::Evaluation evaluate_int8(const std::string& model_path, const data::SplitData& split, data::Task task,
                                 int batch_size);

/// Median milliseconds of f on batches of the given size cut from images (repeated to fill the batch).
double median_latency_ms(const std::function<at::Tensor(const at::Tensor&)>& f, const at::Tensor& images_u8,
                         int64_t batch, int repeats);

/// A row as quant.json and the experiment's summary.json hold it (non-finite numbers as null).
nlohmann::json row_json(const Row& r);

/// Text table of rows (Markdown).
std::string rows_table(const std::vector<Row>& rows);

}  // namespace mednet::quant
