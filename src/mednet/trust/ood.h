#pragma once
// Out-of-distribution scores of a trained classifier: how much an input looks like the training data.
// Higher is more like it, for every score:
//   msp          maximum softmax probability (Hendrycks and Gimpel 2017); multi-label: the mean over the
//                labels of max(p, 1 - p)
//   energy       the negative free energy logsumexp(logits) (Liu et al. 2020, T = 1); multi-label: the sum
//                over the labels of log(1 + exp(logit)) (Wang et al. 2021)
//   mahalanobis  minus the smallest squared Mahalanobis distance from the input's features to a class mean,
//                with one covariance shared by the classes (Lee et al. 2018), both from the training split;
//                the features are the last convolutional stage's map averaged over space (a multi-label
//                task has one mean: its labels do not partition the images)
// A threshold per score passes 95% of the validation split; an input scoring below it is flagged as
// unlike the training data.
#include <array>
#include <string>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "mednet/data/catalog.h"
#include "mednet/models/classifier.h"

namespace mednet::trust {

inline constexpr std::array<const char*, 3> kOodScores = {"msp", "energy", "mahalanobis"};
/// The share of in-distribution inputs a threshold lets pass.
inline constexpr double kOodPassRate = 0.95;

/// An error naming the valid scores unless name is one of kOodScores.
void check_ood_score(const std::string& name);

/// What a model gives for a batch of inputs: logits [N, K] and pooled features [N, D], double, CPU.
struct OodFeatures {
  at::Tensor logits, features;
  int64_t size() const { return logits.defined() ? logits.size(0) : 0; }
};

/// logits and features of uint8 images [N, C, ...] in eval mode without gradients, in batches.
OodFeatures ood_features(models::ClassifierImpl& model, const at::Tensor& images_u8,
                         const c10::Device& device, int batch_size);

/// The class means [M, D] and the shared precision (pseudo-inverse of the covariance) [D, D].
struct MahalanobisFit {
  at::Tensor means, precision;
};

/// From the training split's features and labels ([N] or [N, L]); classes with no image are left out.
MahalanobisFit fit_mahalanobis(data::Task task, const at::Tensor& features, const at::Tensor& labels);

/// One score [N] (double) of each input; mahalanobis needs fit.
at::Tensor ood_score(data::Task task, const std::string& name, const OodFeatures& f,
                     const MahalanobisFit& fit = {});

/// The threshold that lets pass_rate of scores pass (score >= threshold): the value at rank
/// floor((1 - pass_rate) * N) of the scores sorted in ascending order.
double pass_threshold(const at::Tensor& scores, double pass_rate = kOodPassRate);

/// How well a score tells in-distribution inputs (positive) from others: the AUROC (ties count half)
/// and the false positive rate at 95% true positive rate (the share of others at or above
/// pass_threshold(in)).
struct Separation {
  double auroc = 0, fpr95 = 0;
};
Separation separation(const at::Tensor& in_scores, const at::Tensor& out_scores);

}  // namespace mednet::trust
