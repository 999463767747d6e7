#pragma once
// Quantization-aware training: the float network fine-tuned with every weight and activation passed
// through LibTorch's fake-quantize operators (which carry gradients), BatchNorm folded into its
// convolution at every step with frozen running statistics, activation ranges fixed by calibration.
// The network is a models::ClassifierImpl, so it fine-tunes through the Trainer (one training loop,
// one seeding rule, one loss average), into a run folder of its own. The result folds and converts
// to the same full-integer model as post-training static quantization.
#include <functional>
#include <string>
#include <vector>

#include "mednet/data/dataset.h"
#include "mednet/models/classifier.h"
#include "mednet/quant/calibrate.h"
#include "mednet/quant/layers.h"

namespace mednet::quant {

struct QatOptions {
  int epochs = 3;
  double lr = 1e-4;
  int batch_size = 32;
  int eval_batch_size = 256;
  uint64_t seed = 0;
  std::string run_dir;  ///< the fine-tuning's run folder (config.json, history.csv, best.pt, metrics.json)
};

struct QatEpoch {
  int epoch = 0;  ///< 0: before fine-tuning
  double train_loss = 0;
  double val_auc = 0, val_acc = 0;
  double seconds = 0;
};

struct QatResult {
  std::vector<Layer> layers;  ///< the chosen epoch's layers (BatchNorm not folded)
  std::vector<QatEpoch> history;
  int best_epoch = 0;  ///< by validation AUC of the fake-quantized network; 0 = before fine-tuning
};

/// The network with fake-quantized weights and activations (float values on the int8 grid).
at::Tensor run_fake_quant(const std::vector<Layer>& layers, const Calibration& calibration,
                          const at::Tensor& x, bool training);

/// The fake-quantized network as a trainable module: weights, biases and BatchNorm scales are its
/// parameters, running statistics its (frozen) buffers. forward() runs run_fake_quant, with dropout
/// in training mode.
class FakeQuantNetImpl : public models::ClassifierImpl {
 public:
  FakeQuantNetImpl(const std::vector<Layer>& layers, Calibration calibration);
  at::Tensor forward(const at::Tensor& x) override;
  std::vector<std::string> feature_layers() const override { return {}; }
  std::pair<at::Tensor, at::Tensor> forward_at(const at::Tensor& x, const std::string& layer) override;
  std::string kind() const override { return "cnn-fake-quant"; }
  std::string head_prefix() const override { return "head"; }
  int block_count() const override { return 0; }
  int block_of(const std::string& /*param*/) const override { return 0; }
  /// The current layers (detached CPU copies, BatchNorm not folded).
  std::vector<Layer> layers() const;

 private:
  std::vector<Layer> layers_;
  Calibration calibration_;
};

/// Fine-tunes layers (from extract_layers) on the training split through the Trainer; keeps the epoch
/// with the best validation AUC, counting the unchanged network as epoch 0. A non-finite loss is an
/// error.
QatResult train_qat(const std::vector<Layer>& layers, const Calibration& calibration,
                    const data::MedMnist& data, const QatOptions& options,
                    const std::function<void(const QatEpoch&)>& on_epoch = {});

}  // namespace mednet::quant
