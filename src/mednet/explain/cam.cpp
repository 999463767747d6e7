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
  input_ = x;
  target_ = r.target;
  const at::Tensor score = logits.gather(1, r.target.view({-1, 1})).squeeze(1);
  // The samples are independent, so the gradient of the summed scores is each sample's own.
  const at::Tensor grad = torch::autograd::grad({score.sum()}, {fmap}, {}, /*retain_graph=*/false)[0];
  const at::Tensor a = fmap.detach(), g = grad.detach();
  at::Tensor cam = torch::relu(weighted_map(a, g));  // [N, *s]
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
  torch::NoGradGuard no_grad;
  const at::Tensor& x = input();
  const int64_t n = fmap.size(0), c = fmap.size(1);
  const std::vector<int64_t> size(x.sizes().begin() + 2, x.sizes().end());
  const at::Tensor up = fmap.dim() == 4 ? torch::upsample_bilinear2d(fmap, size, /*align_corners=*/false)
                                        : torch::upsample_trilinear3d(fmap, size, /*align_corners=*/false);
  const at::Tensor flat = up.reshape({n, c, -1});
  const at::Tensor lo = std::get<0>(flat.min(2, true)), hi = std::get<0>(flat.max(2, true));
  const at::Tensor masks = ((flat - lo) / (hi - lo + 1e-8)).reshape(up.sizes());  // [N, C, *S]
  constexpr int64_t kBatch = 64;
  at::Tensor scores = torch::empty({n, c}, x.options());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = target()[i].item<int64_t>();
    for (int64_t start = 0; start < c; start += kBatch) {
      const int64_t len = std::min(kBatch, c - start);
      const at::Tensor batch = x[i].unsqueeze(0) * masks[i].narrow(0, start, len).unsqueeze(1);
      scores[i].narrow(0, start, len).copy_(model().forward(batch).select(1, k));
    }
  }
  return torch::softmax(scores, 1);
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

namespace {
template <class T>
std::unique_ptr<Cam> make(models::ClassifierImpl& model, const std::string& layer) {
  return std::make_unique<T>(model, layer);
}
}  // namespace

const std::vector<CamMethod>& cam_methods() {
  static const std::vector<CamMethod> k = {
      {"gradcam", "Selvaraju et al., Grad-CAM, ICCV 2017", make<GradCam>},
      {"gradcampp", "Chattopadhyay et al., Grad-CAM++, WACV 2018", make<GradCamPlusPlus>},
      {"xgradcam", "Fu et al., Axiom-based Grad-CAM, BMVC 2020", make<XGradCam>},
      {"scorecam", "Wang et al., Score-CAM, CVPR Workshops 2020", make<ScoreCam>},
      {"hirescam", "Draelos and Carin, HiResCAM, arXiv 2011.08891, 2020", make<HiResCam>},
      {"gradcamelementwise", "Grad-CAM with the product taken element-wise (pytorch-grad-cam)",
       make<GradCamElementWise>},
      {"layercam", "Jiang et al., LayerCAM, IEEE TIP 2021", make<LayerCam>},
      {"eigencam", "Muhammad and Yeasin, Eigen-CAM, IJCNN 2020", make<EigenCam>},
  };
  return k;
}

std::vector<std::string> cam_method_names() {
  std::vector<std::string> out;
  for (const auto& m : cam_methods()) out.push_back(m.name);
  return out;
}

std::vector<std::string> parse_cam_methods(const std::string& spec) {
  if (spec == "all") return cam_method_names();
  std::vector<std::string> out;
  const std::vector<std::string> valid = cam_method_names();
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t end = std::min(spec.find(',', start), spec.size());
    const std::string name = spec.substr(start, end - start);
    MN_CHECK_USAGE(std::find(valid.begin(), valid.end(), name) != valid.end(),
                   "--method: unknown CAM method '", name, "' (valid: all, ", core::join(valid, ", "), ")");
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    start = end + 1;
  }
  return out;
}

std::unique_ptr<Cam> make_cam(const std::string& method, models::ClassifierImpl& model,
                              const std::string& layer) {
  for (const auto& m : cam_methods())
    if (method == m.name) return m.make(model, layer);
  MN_CHECK_USAGE(false, "--method: unknown CAM method '", method,
                 "' (valid: ", core::join(cam_method_names(), ", "), ")");
  return nullptr;
}

}  // namespace mednet::explain
