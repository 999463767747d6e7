#pragma once
// Attributions to the input itself rather than to a feature map: two gradient methods (SmoothGrad,
// Integrated Gradients with a black or a blurred baseline) and occlusion sensitivity. The base runs the
// common steps (eval mode, the predicted class where no target is given, the positive part of the map,
// per-sample scaling to [0, 1]); a method computes its signed map at the input's resolution, sample by
// sample, its many forward passes in batches of options().batch.
#include <string>
#include <vector>

#include <ATen/core/Generator.h>

#include "mednet/explain/cam.h"

namespace mednet::explain {

class InputAttribution : public Attribution {
 public:
  explicit InputAttribution(models::ClassifierImpl& model) : model_(model) {}
  CamResult compute(const at::Tensor& x, const at::Tensor& target = at::Tensor()) final;
  std::string layer() const override { return "input"; }

 protected:
  /// Evidence for class `target` at each position of one sample xi [C, *s]: [*s], positive = for.
  virtual at::Tensor sample_map(const at::Tensor& xi, int64_t target) = 0;
  /// Called once at the start of each compute().
  virtual void begin() {}
  /// Forward passes sample_map takes for a sample of this shape (for the progress count).
  virtual int64_t passes(const at::Tensor& xi) const = 0;
  /// Reports `n` more forward passes done.
  void advance(int64_t n);
  models::ClassifierImpl& model() const { return model_; }
  /// The gradient of the target logit with respect to each input of a batch [B, C, *s].
  at::Tensor input_gradient(const at::Tensor& batch, int64_t target) const;

 private:
  models::ClassifierImpl& model_;
  int64_t done_ = 0, total_ = 0;
};

/// SmoothGrad (Smilkov et al., arXiv 1706.03825, 2017): the input gradient averaged over noisy copies
/// (Gaussian noise, standard deviation options().smoothgrad_noise of the sample's value range, seeded);
/// the map is its magnitude, the largest over channels (Simonyan et al.'s saliency).
class SmoothGrad : public InputAttribution {
 public:
  using InputAttribution::InputAttribution;
  std::string name() const override { return "smoothgrad"; }

 protected:
  at::Tensor sample_map(const at::Tensor& xi, int64_t target) override;
  int64_t passes(const at::Tensor& xi) const override;
  void begin() override;

 private:
  at::Generator gen_;  // the noise: a CPU generator seeded with options().seed at each compute()
};

/// Integrated Gradients (Sundararajan et al., ICML 2017): (x - x') times the gradient averaged over
/// options().ig_steps points x' + a (x - x') of the straight path (a at the midpoints of equal steps),
/// summed over channels. The baseline x' is black (intensity 0) or a blurred copy of the sample.
class IntegratedGradients : public InputAttribution {
 public:
  enum class Baseline { Black, Blur };
  IntegratedGradients(models::ClassifierImpl& model, Baseline baseline)
      : InputAttribution(model), baseline_(baseline) {}
  std::string name() const override { return baseline_ == Baseline::Black ? "ig-black" : "ig-blur"; }

 protected:
  at::Tensor sample_map(const at::Tensor& xi, int64_t target) override;
  int64_t passes(const at::Tensor& xi) const override;

 private:
  Baseline baseline_;
};

/// Occlusion sensitivity (Zeiler and Fergus, ECCV 2014; MONAI's OcclusionSensitivity): a patch of side
/// options().occlusion_patch slides with options().occlusion_stride (the last window flush with the
/// far edge) and is filled with the sample's mean (MONAI's "mean_img"); each position's value is the drop
/// of the target probability averaged over the windows that cover it.
class Occlusion : public InputAttribution {
 public:
  using InputAttribution::InputAttribution;
  std::string name() const override { return "occlusion"; }

 protected:
  at::Tensor sample_map(const at::Tensor& xi, int64_t target) override;
  int64_t passes(const at::Tensor& xi) const override;
};

/// Where windows of side `patch` start along an axis of `size` positions with `stride`: 0, stride, ...
/// and a last one flush with the far edge.
std::vector<int64_t> window_starts(int64_t size, int64_t patch, int64_t stride);

}  // namespace mednet::explain
