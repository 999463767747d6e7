#pragma once
// Explanation maps for 2D and 3D models. Attribution is what every method offers (maps for a batch at the
// input's resolution, scaled to [0, 1] per sample). Cam is the class activation map base: it runs the
// common steps (forward to the target layer and the logits, backward of the target class score to that
// layer, weighting of the feature map, ReLU, upsampling to the input size, per-sample normalisation); a
// method only says how it weights the channels (or, for the element-wise methods, each position of each
// channel). 4D ([N, C, H, W]) and 5D ([N, C, D, H, W]) feature maps alike. The methods that attribute to
// the input itself are in explain/attribution.h, the registry of all of them in explain/methods.h.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/models/classifier.h"

namespace mednet::explain {

struct CamResult {
  at::Tensor maps;    ///< [N, *input spatial] in [0, 1], float, on CPU
  at::Tensor coarse;  ///< [N, *map spatial], after ReLU, before upsampling and normalising
  at::Tensor target;  ///< [N] class explained
  at::Tensor probs;   ///< [N, K] softmax (sigmoid for multi-label is the caller's choice of target)
  at::Tensor score;   ///< [N] the target class logit
};

/// The settings of the methods that take many forward passes.
struct AttributionOptions {
  int batch = 64;                  ///< inputs per forward pass (Score-CAM, AblationCAM, occlusion, ...)
  int smoothgrad_samples = 25;     ///< noisy copies per sample
  double smoothgrad_noise = 0.15;  ///< noise standard deviation as a share of each sample's value range
  int ig_steps = 32;               ///< points on the integration path
  int occlusion_patch = 0;         ///< side of the occluding patch; 0: a quarter of the input's side
  int occlusion_stride = 0;        ///< 0: half the patch
  uint64_t seed = 0;               ///< of SmoothGrad's noise
};

/// Called with (forward passes done, forward passes in all) as a many-pass method runs.
using ProgressFn = std::function<void(int64_t, int64_t)>;

class Attribution {
 public:
  virtual ~Attribution() = default;
  /// Maps for a batch of network inputs. target: [N] class per sample; undefined = the predicted one.
  virtual CamResult compute(const at::Tensor& x, const at::Tensor& target = at::Tensor()) = 0;
  virtual std::string name() const = 0;
  /// The feature map the method reads; "input" for the methods that attribute to the input.
  virtual std::string layer() const = 0;

  void set_options(const AttributionOptions& o) { options_ = o; }
  void on_progress(ProgressFn f) { progress_ = std::move(f); }

 protected:
  const AttributionOptions& options() const { return options_; }
  void progress(int64_t done, int64_t total) const {
    if (progress_) progress_(done, total);
  }

 private:
  AttributionOptions options_;
  ProgressFn progress_;
};

/// Scales each sample of a batch to [0, 1] (a constant map becomes all zeros).
at::Tensor normalize_per_sample(const at::Tensor& maps);
/// [N, C, *s] resized to the spatial size (bilinear in 2D, trilinear in 3D, align_corners false).
at::Tensor upsample_to(const at::Tensor& t, at::IntArrayRef size);

class Cam : public Attribution {
 public:
  /// layer: a name from model.feature_layers(); empty = the last convolutional stage.
  Cam(models::ClassifierImpl& model, std::string layer);

  CamResult compute(const at::Tensor& x, const at::Tensor& target = at::Tensor()) final;
  std::string layer() const override { return layer_; }

 protected:
  /// The map before the ReLU, [N, *s], from the feature map A and the gradient dS/dA (both [N, C, *s];
  /// the gradient is undefined for a method that does not need it).
  virtual at::Tensor weighted_map(const at::Tensor& fmap, const at::Tensor& grad) const = 0;
  /// False for the methods that do not read dS/dA: the backward pass is skipped.
  virtual bool needs_gradient() const { return true; }
  /// During compute(): the model (in eval mode), the batch and the class explained per sample.
  models::ClassifierImpl& model() const { return model_; }
  const at::Tensor& input() const { return input_; }
  const at::Tensor& target() const { return target_; }

 private:
  models::ClassifierImpl& model_;
  std::string layer_;
  at::Tensor input_, target_;
};

/// The methods that weight whole channels: the map is sum_c w_c A_c.
class ChannelCam : public Cam {
 public:
  using Cam::Cam;

 protected:
  /// Channel weights [N, C] from A and dS/dA.
  virtual at::Tensor channel_weights(const at::Tensor& fmap, const at::Tensor& grad) const = 0;
  at::Tensor weighted_map(const at::Tensor& fmap, const at::Tensor& grad) const final;
};

/// Grad-CAM (Selvaraju et al., ICCV 2017): w_c = the gradient averaged over space.
class GradCam : public ChannelCam {
 public:
  using ChannelCam::ChannelCam;
  std::string name() const override { return "gradcam"; }

 protected:
  at::Tensor channel_weights(const at::Tensor& fmap, const at::Tensor& grad) const override;
};

/// Grad-CAM++ (Chattopadhyay et al., WACV 2018): positive gradients weighted per position by
/// alpha = g^2 / (2 g^2 + sum_space(A) g^3) (the closed form for an exponential of the score).
class GradCamPlusPlus : public ChannelCam {
 public:
  using ChannelCam::ChannelCam;
  std::string name() const override { return "gradcampp"; }

 protected:
  at::Tensor channel_weights(const at::Tensor& fmap, const at::Tensor& grad) const override;
};

/// XGrad-CAM (Fu et al., BMVC 2020): w_c = sum_space(g A) / sum_space(A).
class XGradCam : public ChannelCam {
 public:
  using ChannelCam::ChannelCam;
  std::string name() const override { return "xgradcam"; }

 protected:
  at::Tensor channel_weights(const at::Tensor& fmap, const at::Tensor& grad) const override;
};

/// Score-CAM (Wang et al., CVPR Workshops 2020): each channel, upsampled and scaled to [0, 1], masks the
/// input; w = the softmax over channels of the target logit of the masked inputs (as pytorch-grad-cam).
/// One forward pass per channel and sample, in batches.
class ScoreCam : public ChannelCam {
 public:
  using ChannelCam::ChannelCam;
  std::string name() const override { return "scorecam"; }

 protected:
  at::Tensor channel_weights(const at::Tensor& fmap, const at::Tensor& grad) const override;
  bool needs_gradient() const override { return false; }
};

/// AblationCAM (Desai and Ramaswamy, WACV 2020): w_c = (y - y_c) / y, y the target logit and y_c the
/// same with channel c of the layer set to zero (the rest of the network run from the layer on, in
/// batches). Needs a model that can resume at the layer (forward_from).
class AblationCam : public ChannelCam {
 public:
  using ChannelCam::ChannelCam;
  std::string name() const override { return "ablationcam"; }

 protected:
  at::Tensor channel_weights(const at::Tensor& fmap, const at::Tensor& grad) const override;
  bool needs_gradient() const override { return false; }
};

/// HiResCAM (Draelos and Carin, arXiv 2011.08891, 2020): sum_c g A, position by position.
class HiResCam : public Cam {
 public:
  using Cam::Cam;
  std::string name() const override { return "hirescam"; }

 protected:
  at::Tensor weighted_map(const at::Tensor& fmap, const at::Tensor& grad) const override;
};

/// Grad-CAM element-wise (pytorch-grad-cam's GradCAMElementWise): sum_c relu(g A).
class GradCamElementWise : public Cam {
 public:
  using Cam::Cam;
  std::string name() const override { return "gradcamelementwise"; }

 protected:
  at::Tensor weighted_map(const at::Tensor& fmap, const at::Tensor& grad) const override;
};

/// LayerCAM (Jiang et al., IEEE TIP 2021): sum_c relu(g) A.
class LayerCam : public Cam {
 public:
  using Cam::Cam;
  std::string name() const override { return "layercam"; }

 protected:
  at::Tensor weighted_map(const at::Tensor& fmap, const at::Tensor& grad) const override;
};

/// EigenCAM (Muhammad and Yeasin, IJCNN 2020): the feature map projected on its first principal
/// direction (the positions as rows, the channels as columns, the mean removed), signed so that the
/// projection correlates positively with the channel sum; it does not depend on the target class.
/// A layer with one channel has no principal direction to find: an error.
class EigenCam : public Cam {
 public:
  using Cam::Cam;
  std::string name() const override { return "eigencam"; }

 protected:
  at::Tensor weighted_map(const at::Tensor& fmap, const at::Tensor& grad) const override;
  bool needs_gradient() const override { return false; }
};

}  // namespace mednet::explain
