#include "mednet/explain/cam.h"

#include <torch/torch.h>

#include "mednet/core/error.h"

namespace mednet::explain {

namespace {
std::vector<int64_t> spatial_dims_of(const at::Tensor& t) {
  std::vector<int64_t> d;
  for (int64_t k = 2; k < t.dim(); ++k) d.push_back(k);
  return d;
}
}  // namespace

Cam::Cam(models::ClassifierImpl& model, std::string layer) : model_(model), layer_(std::move(layer)) {
  if (layer_.empty()) layer_ = model_.feature_layers().back();
  model_.layer_index(layer_);  // an unknown name fails here, listing the valid ones
}

at::Tensor normalize_per_sample(const at::Tensor& maps) {
  const int64_t n = maps.size(0);
  const at::Tensor flat = maps.reshape({n, -1});
  const at::Tensor lo = std::get<0>(flat.min(1, true)), hi = std::get<0>(flat.max(1, true));
  const at::Tensor range = hi - lo;
  // A flat map carries no location: all zeros rather than a division by zero.
  const at::Tensor out =
      torch::where(range > 1e-12, (flat - lo) / range.clamp_min(1e-12), torch::zeros_like(flat));
  return out.reshape(maps.sizes());
}

CamResult Cam::compute(const at::Tensor& x, const at::Tensor& target) {
  const int64_t dims = x.dim() - 2;
  MN_CHECK(dims == 2 || dims == 3, "CAM: expected a [N, C, H, W] or [N, C, D, H, W] batch, got ", x.dim(),
           " dimensions");
  const bool was_training = model_.is_training();
  model_.eval();
  torch::AutoGradMode grad_on(true);
  auto [fmap, logits] = model_.forward_at(x, layer_);
  MN_CHECK(fmap.dim() == x.dim(), "CAM: layer ", layer_, " gives a ", fmap.dim(), "-dimensional map");
  CamResult r;
  r.target = target.defined() ? target.to(torch::kLong).to(logits.device()) : logits.argmax(1);
  MN_CHECK(r.target.dim() == 1 && r.target.size(0) == x.size(0), "CAM: one target class per sample expected");
  const at::Tensor score = logits.gather(1, r.target.view({-1, 1})).squeeze(1);
  // The samples are independent, so the gradient of the summed scores is each sample's own.
  const at::Tensor grad = torch::autograd::grad({score.sum()}, {fmap}, {}, /*retain_graph=*/false)[0];
  const at::Tensor a = fmap.detach(), g = grad.detach();
  const at::Tensor w = channel_weights(a, g);  // [N, C]
  std::vector<int64_t> wshape{w.size(0), w.size(1)};
  for (int64_t k = 0; k < dims; ++k) wshape.push_back(1);
  at::Tensor cam = torch::relu((w.view(wshape) * a).sum(1));  // [N, *s]
  r.coarse = cam.cpu();
  std::vector<int64_t> out_size(x.sizes().begin() + 2, x.sizes().end());
  at::Tensor up = cam.unsqueeze(1);
  if (dims == 2) {
    up = torch::upsample_bilinear2d(up, out_size, /*align_corners=*/false);
  } else {
    up = torch::upsample_trilinear3d(up, out_size, /*align_corners=*/false);
  }
  r.maps = normalize_per_sample(up.squeeze(1)).cpu();
  r.probs = torch::softmax(logits.detach(), 1).cpu();
  r.score = score.detach().cpu();
  r.target = r.target.cpu();
  model_.train(was_training);
  return r;
}

at::Tensor GradCam::channel_weights(const at::Tensor& /*fmap*/, const at::Tensor& grad) const {
  return grad.mean(spatial_dims_of(grad));
}

at::Tensor GradCamPlusPlus::channel_weights(const at::Tensor& fmap, const at::Tensor& grad) const {
  const auto sp = spatial_dims_of(grad);
  const at::Tensor g2 = grad.pow(2), g3 = grad.pow(3);
  const at::Tensor sum_a = fmap.sum(sp, /*keepdim=*/true);
  const at::Tensor denom = 2 * g2 + sum_a * g3;
  const at::Tensor alpha = g2 / torch::where(denom != 0, denom, torch::ones_like(denom));
  return (alpha * torch::relu(grad)).sum(sp);
}

std::unique_ptr<Cam> make_cam(const std::string& method, models::ClassifierImpl& model,
                              const std::string& layer) {
  if (method == "gradcam") return std::make_unique<GradCam>(model, layer);
  if (method == "gradcampp") return std::make_unique<GradCamPlusPlus>(model, layer);
  MN_CHECK_USAGE(false, "unknown CAM method '", method, "' (valid: gradcam, gradcampp)");
  return nullptr;
}

}  // namespace mednet::explain
