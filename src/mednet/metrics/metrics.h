#pragma once
// AUC and ACC exactly as the official MedMNIST Evaluator computes them (README, "Metrics"):
// a pure function plus an accumulator (update / compute / reset).
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/data/catalog.h"

namespace mednet::metrics {

/// ROC AUC in its Mann-Whitney form (tied scores count half). NaN when the targets are all one class.
double roc_auc(const std::vector<double>& scores, const std::vector<int>& targets);

struct Scores {
  double auc = 0;  ///< NaN when undefined (a class absent from the targets); see warnings
  double acc = 0;
  std::vector<std::string> warnings;
};

/// labels: int [N, L] (L = 1, or the label count for multi-label); probs: [N, K] probabilities
/// (softmax, or sigmoid for multi-label), as the evaluator takes them.
Scores evaluate(data::Task task, const at::Tensor& labels, const at::Tensor& probs);

/// Network outputs to the probabilities the evaluator scores: sigmoid for multi-label, else softmax.
at::Tensor probabilities(data::Task task, const at::Tensor& logits);

/// Collects batches, scores them all at once.
class Accumulator {
 public:
  explicit Accumulator(data::Task task) : task_(task) {}
  void update(const at::Tensor& labels, const at::Tensor& probs);
  Scores compute() const;
  void reset();
  int64_t count() const;
  /// All probabilities so far, [N, K], on the CPU (updates may come from any device).
  at::Tensor probs() const;
  at::Tensor labels() const;

 private:
  data::Task task_;
  std::vector<at::Tensor> labels_, probs_;
};

}  // namespace mednet::metrics
