#pragma once
// Class activation maps for 2D and 3D models: Grad-CAM (Selvaraju et al. 2017) and Grad-CAM++
// (Chattopadhyay et al. 2018). The base class runs the common steps (forward to the target layer and
// the logits, backward of the target class score to that layer, weighting of the feature channels,
// ReLU, upsampling to the input size, per-sample normalisation to [0, 1]); a method only says how it
// weights the channels. 4D ([N, C, H, W]) and 5D ([N, C, D, H, W]) feature maps alike.
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/models/classifier.h"

namespace mednet::explain {

struct CamResult {
  at::Tensor maps;    ///< [N, *input spatial] in [0, 1], float, on CPU
  at::Tensor coarse;  ///< [N, *feature-map spatial], after ReLU, before upsampling and normalising
  at::Tensor target;  ///< [N] class explained
  at::Tensor probs;   ///< [N, K] softmax (sigmoid for multi-label is the caller's choice of target)
  at::Tensor score;   ///< [N] the target class logit
};

class Cam {
 public:
  /// layer: a name from model.feature_layers(); empty = the last convolutional stage.
  Cam(models::ClassifierImpl& model, std::string layer);
  virtual ~Cam() = default;

  /// Maps for a batch of network inputs. target: [N] class per sample; undefined = the predicted one.
  CamResult compute(const at::Tensor& x, const at::Tensor& target = at::Tensor());

  virtual std::string name() const = 0;
  const std::string& layer() const { return layer_; }

 protected:
  /// Channel weights [N, C] from the feature map A, the gradient dS/dA (both [N, C, *s]).
  virtual at::Tensor channel_weights(const at::Tensor& fmap, const at::Tensor& grad) const = 0;

 private:
  models::ClassifierImpl& model_;
  std::string layer_;
};

/// Grad-CAM: the weight of a channel is its gradient averaged over space.
class GradCam : public Cam {
 public:
  using Cam::Cam;
  std::string name() const override { return "gradcam"; }

 protected:
  at::Tensor channel_weights(const at::Tensor& fmap, const at::Tensor& grad) const override;
};

/// Grad-CAM++: positive gradients weighted per position by
/// alpha = g^2 / (2 g^2 + sum_space(A) g^3) (the closed form for an exponential of the score).
class GradCamPlusPlus : public Cam {
 public:
  using Cam::Cam;
  std::string name() const override { return "gradcampp"; }

 protected:
  at::Tensor channel_weights(const at::Tensor& fmap, const at::Tensor& grad) const override;
};

/// gradcam | gradcampp; anything else is a usage error.
std::unique_ptr<Cam> make_cam(const std::string& method, models::ClassifierImpl& model,
                              const std::string& layer);

/// Scales each sample of a batch to [0, 1] (a constant map becomes all zeros).
at::Tensor normalize_per_sample(const at::Tensor& maps);

}  // namespace mednet::explain
