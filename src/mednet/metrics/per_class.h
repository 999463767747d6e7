#pragma once
// What a single AUC and ACC hide: the AUC of each class (one against the rest, as the MedMNIST AUC
// averages them), the confusion matrix of the MedMNIST decision rule, and the ROC curve of each class.
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/data/catalog.h"

namespace mednet::metrics {

/// A column the MedMNIST AUC scores, with its one-against-the-rest targets.
struct ScoredColumn {
  std::string name;  ///< "class 1", "label 3", ...
  std::vector<double> scores;
  std::vector<int> targets;
};

/// The columns the official AUC averages: class 1 (binary: the last score column), every class
/// (multi-class, ordinal: class c against the rest) or every label (multi-label).
std::vector<ScoredColumn> scored_columns(data::Task task, const at::Tensor& labels, const at::Tensor& probs);

/// One AUC per scored column: every class (multi-class, ordinal), class 1 (binary: one value), every
/// label (multi-label). NaN where a class is absent.
std::vector<double> per_class_auc(data::Task task, const at::Tensor& labels, const at::Tensor& probs);

/// Predicted class of each row by the evaluator's rule: argmax, or score of the last column > 0.5
/// for binary tasks. Not defined for multi-label tasks (an error).
std::vector<int64_t> predicted_classes(data::Task task, const at::Tensor& probs);

/// counts[true][predicted], classes x classes; empty for multi-label tasks.
std::vector<std::vector<int64_t>> confusion_matrix(data::Task task, const at::Tensor& labels,
                                                   const at::Tensor& probs);

/// MedMNIST-C's balanced error: 1 - the mean recall over the classes present in the labels (scikit-learn's
/// balanced_accuracy_score) under the evaluator's decision rule; multi-label: its mean over the labels,
/// each label's score above 0.5.
double balanced_error(data::Task task, const at::Tensor& labels, const at::Tensor& probs);

struct RocCurve {
  std::string name;              ///< "class 1", "label 3", ...
  std::vector<double> fpr, tpr;  ///< from (0, 0) to (1, 1), one point per distinct score
};

/// ROC curve of every column per_class_auc scores, thinned to at most max_points points.
std::vector<RocCurve> roc_curves(data::Task task, const at::Tensor& labels, const at::Tensor& probs,
                                 size_t max_points = 200);

/// ROC points of scores against 0/1 targets (empty when either class is absent).
RocCurve roc_curve(const std::vector<double>& scores, const std::vector<int>& targets);

}  // namespace mednet::metrics
