#pragma once
// Class activation maps for 2D and 3D models. The base class runs the common steps (forward to the
// target layer and the logits, backward of the target class score to that layer, weighting of the
// feature map, ReLU, upsampling to the input size, per-sample normalisation to [0, 1]); a method only
// says how it weights the channels (or, for the element-wise methods, each position of each channel).
// 4D ([N, C, H, W]) and 5D ([N, C, D, H, W]) feature maps alike. cam_methods() is the registry.
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
  /// The map before the ReLU, [N, *s], from the feature map A and the gradient dS/dA (both [N, C, *s]).
  virtual at::Tensor weighted_map(const at::Tensor& fmap, const at::Tensor& grad) const = 0;
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
/// One forward pass per channel and sample, in batches of 64.
class ScoreCam : public ChannelCam {
 public:
  using ChannelCam::ChannelCam;
  std::string name() const override { return "scorecam"; }

 protected:
  at::Tensor channel_weights(const at::Tensor& fmap, const at::Tensor& grad) const override;
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
};

/// One row of the registry: the method's name, its paper in one line, and how it is made.
struct CamMethod {
  const char* name;
  const char* paper;
  std::unique_ptr<Cam> (*make)(models::ClassifierImpl& model, const std::string& layer);
};
const std::vector<CamMethod>& cam_methods();
/// The registry's names, in order.
std::vector<std::string> cam_method_names();
/// "all" or a comma list of names; an unknown name is a usage error naming the valid ones.
std::vector<std::string> parse_cam_methods(const std::string& spec);

/// A method of the registry by name; anything else is a usage error naming the valid ones.
std::unique_ptr<Cam> make_cam(const std::string& method, models::ClassifierImpl& model,
                              const std::string& layer);

/// Scales each sample of a batch to [0, 1] (a constant map becomes all zeros).
at::Tensor normalize_per_sample(const at::Tensor& maps);

}  // namespace mednet::explain
