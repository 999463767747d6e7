#pragma once
// Evaluation below training: the loss by task, scores of a model (or of any function giving logits)
// on a split, and per-class probabilities. Training, quantization, explanation and `mednet eval` all
// score through here, so every number follows the same MedMNIST semantics.
#include <functional>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "mednet/data/dataset.h"
#include "mednet/engine/tta.h"
#include "mednet/metrics/metrics.h"
#include "mednet/models/classifier.h"

namespace mednet::engine {

/// Loss, scores and probabilities of a model on one split.
struct Evaluation {
  double loss = 0;
  metrics::Scores scores;
  at::Tensor probs;  ///< [N, K] on CPU
};

/// Loss by task: cross-entropy for binary, multi-class and ordinal; BCE-with-logits for multi-label.
/// smoothing e > 0 (training only): cross-entropy against (1 - e) one-hot + e / classes, BCE against
/// y (1 - e) + e / 2.
at::Tensor task_loss(data::Task task, const at::Tensor& logits, const at::Tensor& labels,
                     double smoothing = 0);

/// An error unless every probability is finite (NaN weights or inputs): an evaluation or prediction
/// that holds one is never scored, and no result file or metrics.json is written from it.
void check_finite_probabilities(const at::Tensor& probs);

/// Logits of rows [start, start + len) of a split.
using LogitsFn = std::function<at::Tensor(int64_t start, int64_t len)>;

/// Evaluation from a function giving the logits of rows [start, start + len) (no-grad, caller's mode).
Evaluation evaluate_batches(data::Task task, const at::Tensor& labels, int batch_size,
                            const LogitsFn& logits_of);

/// Evaluates in eval mode without gradients (the model's mode is restored); with views, on the mean
/// probabilities over them (engine/tta.h; the loss is that of the mean).
Evaluation evaluate_model(models::ClassifierImpl& model, const data::SplitData& split, data::Task task,
                          const c10::Device& device, int batch_size, const FlipSets& views = {});

/// Per-class probabilities [N, K] on the CPU of uint8 images (softmax, or sigmoid for multi-label),
/// in eval mode without gradients, in batches; with views, their mean (engine/tta.h).
at::Tensor predict(models::ClassifierImpl& model, const at::Tensor& images_u8, data::Task task,
                   const c10::Device& device, int batch_size, const FlipSets& views = {});

}  // namespace mednet::engine
