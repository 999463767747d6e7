#pragma once
// Quantization-aware training: the float network fine-tuned with every weight and activation passed
// through LibTorch's fake-quantize operators (which carry gradients), BatchNorm folded into its
// convolution at every step with frozen running statistics, activation ranges fixed by calibration.
// The result folds and converts to the same full-integer model as post-training static quantization.
#include <functional>
#include <vector>

#include "mednet/data/dataset.h"
#include "mednet/quant/int8_model.h"

namespace mednet::quant {

struct QatOptions {
  int epochs = 3;
  double lr = 1e-4;
  int batch_size = 32;
  int eval_batch_size = 256;
  uint64_t seed = 0;
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

/// Fine-tunes layers (from extract_layers) on the training split; keeps the epoch with the best
/// validation AUC, counting the unchanged network as epoch 0. A non-finite loss is an error.
QatResult train_qat(const std::vector<Layer>& layers, const Calibration& calibration,
                    const data::MedMnist& data, data::Task task, const QatOptions& options,
                    const std::function<void(const QatEpoch&)>& on_epoch = {});

}  // namespace mednet::quant
