#include "mednet/explain/cam.h"

#include <algorithm>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/strings.h"

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

at::Tensor upsample_to(const at::Tensor& t, at::IntArrayRef size) {
  return t.dim() == 4 ? torch::upsample_bilinear2d(t, size, /*align_corners=*/false)
                      : torch::upsample_trilinear3d(t, size, /*align_corners=*/false);
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
  torch::AutoGradMode grad_on(needs_gradient());
  auto [fmap, logits] = model_.forward_at(x, layer_);
  MN_CHECK(fmap.dim() == x.dim(), "CAM: layer ", layer_, " gives a ", fmap.dim(), "-dimensional map");
  CamResult r;
  r.target = target.defined() ? target.to(torch::kLong).to(logits.device()) : logits.argmax(1);
  MN_CHECK(r.target.dim() == 1 && r.target.size(0) == x.size(0), "CAM: one target class per sample expected");
  input_ = x;
  target_ = r.target;
  const at::Tensor score = logits.gather(1, r.target.view({-1, 1})).squeeze(1);
  // The samples are independent, so the gradient of the summed scores is each sample's own.
  at::Tensor g;
  if (needs_gradient())
    g = torch::autograd::grad({score.sum()}, {fmap}, {}, /*retain_graph=*/false)[0].detach();
  const at::Tensor a = fmap.detach();
  at::Tensor cam;
  {
    torch::NoGradGuard no_grad;
    cam = torch::relu(weighted_map(a, g));  // [N, *s]
  }
  r.coarse = cam.cpu();
  r.maps = normalize_per_sample(upsample_to(cam.unsqueeze(1), x.sizes().slice(2)).squeeze(1)).cpu();
  r.probs = torch::softmax(logits.detach(), 1).cpu();
  r.score = score.detach().cpu();
  r.target = r.target.cpu();
  input_ = at::Tensor();
  target_ = at::Tensor();
  model_.train(was_training);
  return r;
}

at::Tensor ChannelCam::weighted_map(const at::Tensor& fmap, const at::Tensor& grad) const {
  const at::Tensor w = channel_weights(fmap, grad);  // [N, C]
  std::vector<int64_t> wshape{w.size(0), w.size(1)};
  for (int64_t k = 2; k < fmap.dim(); ++k) wshape.push_back(1);
  return (w.view(wshape) * fmap).sum(1);
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

at::Tensor XGradCam::channel_weights(const at::Tensor& fmap, const at::Tensor& grad) const {
  const auto sp = spatial_dims_of(grad);
  const at::Tensor sum_a = fmap.sum(sp);
  // A channel that is zero everywhere contributes nothing, whatever its weight.
  return (grad * fmap).sum(sp) / torch::where(sum_a != 0, sum_a, torch::ones_like(sum_a));
}

at::Tensor ScoreCam::channel_weights(const at::Tensor& fmap, const at::Tensor& /*grad*/) const {
  const at::Tensor& x = input();
  const int64_t n = fmap.size(0), c = fmap.size(1);
  const at::Tensor up = upsample_to(fmap, x.sizes().slice(2));
  const at::Tensor flat = up.reshape({n, c, -1});
  const at::Tensor lo = std::get<0>(flat.min(2, true)), hi = std::get<0>(flat.max(2, true));
  const at::Tensor masks = ((flat - lo) / (hi - lo + 1e-8)).reshape(up.sizes());  // [N, C, *S]
  const int64_t step = std::max(1, options().batch);
  at::Tensor scores = torch::empty({n, c}, x.options());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = target()[i].item<int64_t>();
    for (int64_t start = 0; start < c; start += step) {
      const int64_t len = std::min(step, c - start);
      const at::Tensor batch = x[i].unsqueeze(0) * masks[i].narrow(0, start, len).unsqueeze(1);
      scores[i].narrow(0, start, len).copy_(model().forward(batch).select(1, k));
      progress(i * c + start + len, n * c);
    }
  }
  return torch::softmax(scores, 1);
}

at::Tensor AblationCam::channel_weights(const at::Tensor& fmap, const at::Tensor& /*grad*/) const {
  const int64_t n = fmap.size(0), c = fmap.size(1);
  const int64_t step = std::max(1, options().batch);
  at::Tensor w = torch::empty({n, c}, fmap.options());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = target()[i].item<int64_t>();
    const at::Tensor a = fmap[i].unsqueeze(0);
    const at::Tensor y = model().forward_from(a, layer()).select(1, k);  // [1]
    // A logit of exactly zero has no relative drop: each channel's absolute drop instead.
    const at::Tensor denom = torch::where(y != 0, y, torch::ones_like(y));
    std::vector<int64_t> shape(fmap.sizes().begin(), fmap.sizes().end());
    for (size_t d = 2; d < shape.size(); ++d) shape[d] = 1;
    for (int64_t start = 0; start < c; start += step) {
      const int64_t len = std::min(step, c - start);
      // Copy j of the batch has channel start + j set to zero.
      at::Tensor keep = torch::ones({len, c}, fmap.options());
      keep.scatter_(1, torch::arange(start, start + len, fmap.options().dtype(torch::kLong)).view({-1, 1}),
                    0);
      shape[0] = len;
      const at::Tensor ablated = model().forward_from(a * keep.view(shape), layer()).select(1, k);
      w[i].narrow(0, start, len).copy_((y - ablated) / denom);
      progress(i * c + start + len, n * c);
    }
  }
  return w;
}

at::Tensor HiResCam::weighted_map(const at::Tensor& fmap, const at::Tensor& grad) const {
  return (grad * fmap).sum(1);
}

at::Tensor GradCamElementWise::weighted_map(const at::Tensor& fmap, const at::Tensor& grad) const {
  return torch::relu(grad * fmap).sum(1);
}

at::Tensor LayerCam::weighted_map(const at::Tensor& fmap, const at::Tensor& grad) const {
  return (torch::relu(grad) * fmap).sum(1);
}

at::Tensor EigenCam::weighted_map(const at::Tensor& fmap, const at::Tensor& /*grad*/) const {
  const int64_t n = fmap.size(0), c = fmap.size(1);
  MN_CHECK_USAGE(c >= 2, "--method eigencam: layer ", layer(), " has ", c,
                 " channel; EigenCAM needs at least 2 to find a principal direction");
  const at::Tensor x = fmap.to(torch::kDouble).reshape({n, c, -1}).transpose(1, 2);  // [N, P, C]
  const at::Tensor centred = x - x.mean(1, /*keepdim=*/true);
  // Vh's rows are the right singular vectors; the first is the principal direction.
  const at::Tensor vh = std::get<2>(torch::linalg_svd(centred, /*full_matrices=*/false));  // [N, C, C]
  at::Tensor proj = torch::matmul(centred, vh.select(1, 0).unsqueeze(2)).squeeze(2);       // [N, P]
  // The sign of a principal direction is arbitrary: take the one that agrees with the channel sum.
  const at::Tensor total = centred.sum(2);
  const at::Tensor sign = torch::where((proj * total).sum(1, true) < 0, -torch::ones({n, 1}, proj.options()),
                                       torch::ones({n, 1}, proj.options()));
  std::vector<int64_t> shape(fmap.sizes().begin() + 2, fmap.sizes().end());
  shape.insert(shape.begin(), n);
  return (proj * sign).reshape(shape).to(fmap.scalar_type());
}

}  // namespace mednet::explain
