#pragma once
// The training loss and the choices that shape it: label smoothing, class-balance weights, soft ordinal
// labels (SORD) and distillation from teachers' probabilities. Validation and test losses stay the plain
// task_loss (engine/evaluate.h); these change only what the optimizer sees.
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/data/catalog.h"

namespace mednet::engine {

struct LossOptions {
  /// Label smoothing e: targets (1 - e) one-hot + e / K (multi-label: y (1 - e) + e / 2). 0 = off.
  double smoothing = 0;
  /// Per-class weights [K] (class_balance_weights), or undefined for none. Single-label tasks only: each
  /// row's loss counts w[label], and the batch loss is sum(w_i l_i) / sum(w_i) (PyTorch's weighted mean).
  at::Tensor class_weights;
  /// SORD (Diaz & Marathe, CVPR 2019) for ordinal tasks: the target of a row of grade y is
  /// q_j = softmax_j(-a |j - y|), so probability put on a neighbouring grade costs less than on a far one.
  /// a = this value; 0 = off (one-hot targets).
  double soft_ordinal = 0;
};

/// The loss the optimizer minimises on one batch of labels int [N, L] (logits [N, K]). Hard labels with
/// smoothing and weights are PyTorch's cross_entropy (or BCE-with-logits for multi-label); soft ordinal
/// targets are the cross-entropy -sum_j q_j log softmax(z)_j, weighted per row as above.
at::Tensor training_loss(data::Task task, const at::Tensor& logits, const at::Tensor& labels,
                         const LossOptions& o);

/// SORD targets [N, K] (rows sum to 1) for labels [N] or [N, 1] of K grades.
at::Tensor soft_ordinal_targets(const at::Tensor& labels, int64_t classes, double a);

/// "Balanced" class weights from training labels [N] or [N, 1]: w_k = N / (K n_k) (scikit-learn's
/// compute_class_weight("balanced")). A class with no training row is an error naming it.
at::Tensor class_balance_weights(const at::Tensor& labels, int64_t classes);

/// Per-row sampling weights for class-balanced sampling: 1 / n_{y_i}, so each class is drawn equally often.
std::vector<double> balanced_row_weights(const at::Tensor& labels, int64_t classes);

/// Hinton et al. (2015) distillation term: T^2 KL(p_teacher || softmax(student / T)), averaged over rows,
/// where teacher_probs [N, K] are already the teachers' mean of softmax(z_t / T). Multi-label tasks use
/// per-label Bernoulli KL with sigmoid in place of softmax.
at::Tensor distill_loss(data::Task task, const at::Tensor& student_logits, const at::Tensor& teacher_probs,
                        double temperature);

/// The teachers' probabilities at temperature T: softmax(z / T) (sigmoid for multi-label).
at::Tensor tempered_probabilities(data::Task task, const at::Tensor& logits, double temperature);

}  // namespace mednet::engine
