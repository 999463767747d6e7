#include "mednet/explain/attribution.h"

#include <algorithm>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/dataset.h"
#include "mednet/explain/faithfulness.h"

namespace mednet::explain {

CamResult InputAttribution::compute(const at::Tensor& x, const at::Tensor& target) {
  MN_CHECK(x.dim() == 4 || x.dim() == 5,
           "attribution: expected a [N, C, H, W] or [N, C, D, H, W] batch, got ", x.dim(), " dimensions");
  const bool was_training = model_.is_training();
  model_.eval();
  begin();
  at::Tensor logits;
  {
    torch::NoGradGuard no_grad;
    logits = model_.forward(x);
  }
  CamResult r;
  r.target = target.defined() ? target.to(torch::kLong).to(logits.device()) : logits.argmax(1);
  MN_CHECK(r.target.dim() == 1 && r.target.size(0) == x.size(0),
           "attribution: one target class per sample expected");
  done_ = 0;
  total_ = 0;
  for (int64_t i = 0; i < x.size(0); ++i) total_ += passes(x[i]);
  std::vector<at::Tensor> maps;
  for (int64_t i = 0; i < x.size(0); ++i) maps.push_back(sample_map(x[i], r.target[i].item<int64_t>()));
  const at::Tensor raw = torch::relu(torch::stack(maps)).to(torch::kFloat);
  r.coarse = raw.cpu();
  r.maps = normalize_per_sample(raw).cpu();
  r.probs = torch::softmax(logits, 1).cpu();
  r.score = logits.gather(1, r.target.view({-1, 1})).squeeze(1).cpu();
  r.target = r.target.cpu();
  model_.train(was_training);
  return r;
}

void InputAttribution::advance(int64_t n) {
  done_ += n;
  progress(done_, total_);
}

at::Tensor InputAttribution::input_gradient(const at::Tensor& batch, int64_t target) const {
  torch::AutoGradMode grad_on(true);
  const at::Tensor b = batch.detach().requires_grad_(true);
  // The copies are independent (eval mode), so the gradient of the summed scores is each copy's own.
  const at::Tensor score = model_.forward(b).select(1, target).sum();
  return torch::autograd::grad({score}, {b}, {}, /*retain_graph=*/false)[0].detach();
}

namespace {
// [len, 1, ..., 1] to broadcast one value per copy over a sample of xi's shape.
std::vector<int64_t> per_copy_shape(const at::Tensor& xi, int64_t len) {
  std::vector<int64_t> shape(static_cast<size_t>(xi.dim()) + 1, 1);
  shape[0] = len;
  return shape;
}
}  // namespace

void SmoothGrad::begin() {
  gen_ = at::detail::createCPUGenerator(options().seed);
}

int64_t SmoothGrad::passes(const at::Tensor& /*xi*/) const {
  return std::max(1, options().smoothgrad_samples);
}

at::Tensor SmoothGrad::sample_map(const at::Tensor& xi, int64_t target) {
  const int64_t m = passes(xi), step = std::max(1, options().batch);
  const double sigma = options().smoothgrad_noise * (xi.max() - xi.min()).item<double>();
  std::vector<int64_t> shape(xi.sizes().begin(), xi.sizes().end());
  shape.insert(shape.begin(), m);
  // Drawn in float32 on the CPU, so the same seed gives the same noise on every device.
  const at::Tensor noise = torch::randn(shape, gen_, torch::dtype(torch::kFloat)).to(xi.options()) * sigma;
  at::Tensor sum = torch::zeros_like(xi);
  for (int64_t start = 0; start < m; start += step) {
    const int64_t len = std::min(step, m - start);
    sum += input_gradient(xi.unsqueeze(0) + noise.narrow(0, start, len), target).sum(0);
    advance(len);
  }
  return std::get<0>((sum / static_cast<double>(m)).abs().max(0));
}

int64_t IntegratedGradients::passes(const at::Tensor& /*xi*/) const {
  return std::max(1, options().ig_steps);
}

at::Tensor IntegratedGradients::sample_map(const at::Tensor& xi, int64_t target) {
  const int64_t m = passes(xi), step = std::max(1, options().batch);
  const at::Tensor batch_of_one = xi.unsqueeze(0);
  const at::Tensor base = baseline_ == Baseline::Black
                              ? data::unit_to_network_input(torch::zeros({1}, xi.options())).expand_as(xi)
                              : blurred(batch_of_one, blur_width(batch_of_one)).squeeze(0);
  const at::Tensor delta = xi - base;
  at::Tensor sum = torch::zeros_like(xi);
  for (int64_t start = 0; start < m; start += step) {
    const int64_t len = std::min(step, m - start);
    // The midpoints of m equal steps from the baseline (a = 0) to the sample (a = 1).
    const at::Tensor a = ((torch::arange(start, start + len, xi.options()) + 0.5) / static_cast<double>(m))
                             .view(per_copy_shape(xi, len));
    sum += input_gradient(base.unsqueeze(0) + a * delta.unsqueeze(0), target).sum(0);
    advance(len);
  }
  return (delta * sum / static_cast<double>(m)).sum(0);
}

std::vector<int64_t> window_starts(int64_t size, int64_t patch, int64_t stride) {
  MN_CHECK(patch >= 1 && patch <= size && stride >= 1, "window_starts: need 1 <= patch <= size, stride >= 1");
  std::vector<int64_t> starts;
  for (int64_t s = 0; s + patch < size; s += stride) starts.push_back(s);
  starts.push_back(size - patch);
  return starts;
}

namespace {
struct Windows {
  int64_t patch = 0;
  std::vector<std::vector<int64_t>> starts;  // per window, per spatial axis
};

Windows occlusion_windows(const at::Tensor& xi, const AttributionOptions& o) {
  int64_t side = xi.size(1);
  for (int64_t d = 2; d < xi.dim(); ++d) side = std::min(side, xi.size(d));
  Windows w;
  w.patch = o.occlusion_patch > 0 ? o.occlusion_patch : std::max<int64_t>(1, side / 4);
  MN_CHECK_USAGE(w.patch <= side, "--occlusion-patch ", w.patch, " is larger than the input's side (", side,
                 ")");
  const int64_t stride = o.occlusion_stride > 0 ? o.occlusion_stride : std::max<int64_t>(1, w.patch / 2);
  w.starts = {{}};
  for (int64_t d = 1; d < xi.dim(); ++d) {
    std::vector<std::vector<int64_t>> next;
    for (const auto& prefix : w.starts)
      for (int64_t s : window_starts(xi.size(d), w.patch, stride)) {
        next.push_back(prefix);
        next.back().push_back(s);
      }
    w.starts = std::move(next);
  }
  return w;
}

// The window's region of t, whose spatial axes start at `first`.
at::Tensor region(at::Tensor t, const std::vector<int64_t>& starts, int64_t patch, int64_t first) {
  for (size_t d = 0; d < starts.size(); ++d) t = t.narrow(first + static_cast<int64_t>(d), starts[d], patch);
  return t;
}
}  // namespace

int64_t Occlusion::passes(const at::Tensor& xi) const {
  return static_cast<int64_t>(occlusion_windows(xi, options()).starts.size()) + 1;
}

at::Tensor Occlusion::sample_map(const at::Tensor& xi, int64_t target) {
  torch::NoGradGuard no_grad;
  const Windows w = occlusion_windows(xi, options());
  const int64_t count = static_cast<int64_t>(w.starts.size()), step = std::max(1, options().batch);
  const at::Tensor fill = xi.mean();
  const double p0 = torch::softmax(model().forward(xi.unsqueeze(0)), 1)[0][target].item<double>();
  advance(1);
  at::Tensor drop = torch::zeros(xi.sizes().slice(1), xi.options());
  at::Tensor covered = torch::zeros_like(drop);
  for (int64_t start = 0; start < count; start += step) {
    const int64_t len = std::min(step, count - start);
    at::Tensor batch = xi.unsqueeze(0).repeat(per_copy_shape(xi, len)).contiguous();
    for (int64_t j = 0; j < len; ++j)
      region(batch[j], w.starts[static_cast<size_t>(start + j)], w.patch, 1).fill_(fill);
    const at::Tensor p = torch::softmax(model().forward(batch), 1).select(1, target).cpu();
    for (int64_t j = 0; j < len; ++j) {
      const auto& s = w.starts[static_cast<size_t>(start + j)];
      region(drop, s, w.patch, 0).add_(p0 - p[j].item<double>());
      region(covered, s, w.patch, 0).add_(1);
    }
    advance(len);
  }
  return drop / covered;
}

}  // namespace mednet::explain
