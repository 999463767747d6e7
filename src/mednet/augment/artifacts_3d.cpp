#include "mednet/augment/artifacts_3d.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "mednet/core/error.h"

namespace mednet::augment {
namespace {

at::Tensor checked_volume(const at::Tensor& vol, const char* what) {
  MN_CHECK(vol.dim() == 4 && vol.is_floating_point(), what,
           ": expected a volume [C, D, H, W] of floats, got ", vol.sizes(), " ", vol.scalar_type());
  return vol.to(torch::kCPU).to(torch::kDouble).contiguous();
}

at::Tensor per_channel(const at::Tensor& vol, const std::function<at::Tensor(const at::Tensor&)>& f) {
  std::vector<at::Tensor> out;
  for (int64_t c = 0; c < vol.size(0); ++c) out.push_back(f(vol[c].contiguous()));
  return torch::stack(out);
}

at::Tensor kspace(const at::Tensor& x) {
  return torch::fft::fftshift(torch::fft::fftn(x));
}
at::Tensor image_of(const at::Tensor& k) {
  return torch::real(torch::fft::ifftn(torch::fft::ifftshift(k))).contiguous();
}

// SciPy's 'reflect' border (d c b a | a b c d) for any offset.
int64_t symmetric(int64_t i, int64_t n) {
  const int64_t period = 2 * n;
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - 1 - i;
}

// One axis of [D, H, W] doubles correlated with a symmetric kernel of the given radius.
at::Tensor correlate_axis(const at::Tensor& x, int axis, const std::vector<double>& w) {
  const int64_t r = static_cast<int64_t>(w.size() / 2);
  const at::Tensor moved = x.movedim(axis, 2).contiguous();
  const int64_t a = moved.size(0), b = moved.size(1), n = moved.size(2);
  at::Tensor out = torch::empty_like(moved);
  const double* src = moved.data_ptr<double>();
  double* dst = out.data_ptr<double>();
  for (int64_t row = 0; row < a * b; ++row)
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t k = -r; k <= r; ++k)
        s += w[static_cast<size_t>(k + r)] * src[row * n + symmetric(i + k, n)];
      dst[row * n + i] = s;
    }
  return out.movedim(2, axis).contiguous();
}

// Trilinear sample of [D, H, W] at continuous index q; outside [0, n - 1] on any axis: fill.
double trilinear(const double* v, const int64_t* n, const double* q, double fill) {
  int64_t i0[3];
  double f[3];
  for (int a = 0; a < 3; ++a) {
    if (q[a] < 0 || q[a] > static_cast<double>(n[a] - 1)) return fill;
    i0[a] = std::min(static_cast<int64_t>(std::floor(q[a])), n[a] - 1);
    f[a] = q[a] - static_cast<double>(i0[a]);
  }
  double s = 0;
  for (int corner = 0; corner < 8; ++corner) {
    double w = 1;
    int64_t idx[3];
    for (int a = 0; a < 3; ++a) {
      const bool hi = (corner >> a) & 1;
      idx[a] = std::min(i0[a] + (hi ? 1 : 0), n[a] - 1);
      w *= hi ? f[a] : 1 - f[a];
    }
    if (w != 0) s += w * v[(idx[0] * n[1] + idx[1]) * n[2] + idx[2]];
  }
  return s;
}

// SimpleITK's Euler3DTransform matrix (ComputeZYX off): Rz Rx Ry.
std::array<double, 9> euler_matrix(const std::array<double, 3>& degrees) {
  const double ax = degrees[0] * M_PI / 180, ay = degrees[1] * M_PI / 180, az = degrees[2] * M_PI / 180;
  const double cx = std::cos(ax), sx = std::sin(ax), cy = std::cos(ay), sy = std::sin(ay), cz = std::cos(az),
               sz = std::sin(az);
  return {cz * cy - sz * sx * sy,
          -sz * cx,
          cz * sy + sz * sx * cy,  //
          sz * cy + cz * sx * sy,
          cz * cx,
          sz * sy - cz * sx * cy,  //
          -cx * sy,
          sx,
          cx * cy};
}

at::Tensor moved(const at::Tensor& x, const RigidMotion& m) {
  const int64_t n[3] = {x.size(0), x.size(1), x.size(2)};
  const std::array<double, 9> r = euler_matrix(m.degrees);
  const double c[3] = {n[0] / 2.0, n[1] / 2.0, n[2] / 2.0};
  const double fill = x.min().item<double>();
  at::Tensor out = torch::empty_like(x);
  const double* src = x.data_ptr<double>();
  double* dst = out.data_ptr<double>();
  for (int64_t i = 0; i < n[0]; ++i)
    for (int64_t j = 0; j < n[1]; ++j)
      for (int64_t k = 0; k < n[2]; ++k) {
        const double p[3] = {i - c[0], j - c[1], k - c[2]};
        double q[3];
        for (int a = 0; a < 3; ++a)
          q[a] = r[a * 3] * p[0] + r[a * 3 + 1] * p[1] + r[a * 3 + 2] * p[2] + c[a] + m.translation[a];
        dst[(i * n[1] + j) * n[2] + k] = trilinear(src, n, q, fill);
      }
  return out;
}

// Linear interpolation of a 1D profile at continuous position t, edge values kept beyond the ends.
double linear(const double* v, int64_t stride, int64_t n, double t) {
  if (t <= 0) return v[0];
  if (t >= static_cast<double>(n - 1)) return v[(n - 1) * stride];
  const auto i = static_cast<int64_t>(std::floor(t));
  const double f = t - static_cast<double>(i);
  return (1 - f) * v[i * stride] + f * v[(i + 1) * stride];
}

}  // namespace

at::Tensor volume_noise(const at::Tensor& vol_in, double std, uint64_t seed) {
  const at::Tensor vol = checked_volume(vol_in, "noise");
  at::Generator gen = at::detail::createCPUGenerator(seed);
  return vol + at::randn(vol.sizes(), gen, torch::kDouble) * std;
}

at::Tensor volume_blur(const at::Tensor& vol_in, double sigma) {
  const at::Tensor vol = checked_volume(vol_in, "blur");
  MN_CHECK(sigma >= 0, "blur: sigma ", sigma, " must be >= 0");
  if (sigma <= 1e-15) return vol;
  const auto radius = static_cast<int64_t>(4.0 * sigma + 0.5);
  std::vector<double> w(static_cast<size_t>(2 * radius + 1));
  double sum = 0;
  for (int64_t x = -radius; x <= radius; ++x)
    sum +=
        (w[static_cast<size_t>(x + radius)] = std::exp(-0.5 / (sigma * sigma) * static_cast<double>(x * x)));
  for (double& v : w) v /= sum;
  return per_channel(vol, [&](const at::Tensor& x) {
    return correlate_axis(correlate_axis(correlate_axis(x, 0, w), 1, w), 2, w);
  });
}

at::Tensor volume_bias_field(const at::Tensor& vol_in, const std::vector<double>& coefficients, int order) {
  const at::Tensor vol = checked_volume(vol_in, "bias field");
  const int64_t needed = (order + 1) * (order + 2) * (order + 3) / 6;
  MN_CHECK(order >= 0 && static_cast<int64_t>(coefficients.size()) == needed, "bias field: order ", order,
           " takes ", needed, " coefficients, got ", coefficients.size());
  std::array<at::Tensor, 3> axis;
  for (int a = 0; a < 3; ++a) {
    const int64_t n = vol.size(a + 1);
    at::Tensor v = torch::arange(n, torch::kDouble) - n / 2.0 + 0.5;
    const double top = v.max().item<double>();
    if (top > 0) v = v / top;
    axis[a] = v;
  }
  const at::Tensor x = axis[0].view({-1, 1, 1}), y = axis[1].view({1, -1, 1}), z = axis[2].view({1, 1, -1});
  at::Tensor field = torch::zeros({vol.size(1), vol.size(2), vol.size(3)}, torch::kDouble);
  size_t i = 0;
  for (int a = 0; a <= order; ++a)
    for (int b = 0; b <= order - a; ++b)
      for (int c = 0; c <= order - a - b; ++c)
        field = field + coefficients[i++] * x.pow(a) * y.pow(b) * z.pow(c);
  return vol * field.exp().unsqueeze(0);
}

at::Tensor volume_ghosting(const at::Tensor& vol_in, int num_ghosts, int axis, double intensity) {
  const at::Tensor vol = checked_volume(vol_in, "ghosting");
  MN_CHECK(axis >= 0 && axis < 3 && num_ghosts >= 0 && intensity >= 0, "ghosting: axis ", axis, ", ghosts ",
           num_ghosts, ", intensity ", intensity, " out of range");
  if (num_ghosts == 0 || intensity == 0) return vol;
  return per_channel(vol, [&](const at::Tensor& x) {
    at::Tensor k = kspace(x);
    const int64_t n = k.size(axis), mid = n / 2;
    const at::Tensor keep = k.slice(axis, mid, mid + 1).clone();
    k.slice(axis, 0, n, num_ghosts).mul_(1 - intensity);
    k.slice(axis, mid, mid + 1).copy_(keep);
    return image_of(k);
  });
}

at::Tensor volume_spike(const at::Tensor& vol_in, const std::vector<std::array<double, 3>>& positions,
                        double intensity) {
  const at::Tensor vol = checked_volume(vol_in, "spike");
  if (intensity == 0 || positions.empty()) return vol;
  return per_channel(vol, [&](const at::Tensor& x) {
    at::Tensor k = kspace(x).contiguous();
    for (const auto& p : positions) {
      // NumPy's max of complex values: the largest real part, then the largest imaginary part.
      const at::Tensor re = torch::real(k).reshape({-1}), im = torch::imag(k).reshape({-1});
      const double top = re.max().item<double>();
      const at::Tensor ties = (re == top).nonzero().view({-1});
      const int64_t best = ties[im.index_select(0, ties).argmax()].item<int64_t>();
      const c10::complex<double> artifact = k.reshape({-1})[best].item<c10::complex<double>>() * intensity;
      const int64_t i = static_cast<int64_t>(std::floor(p[0] * static_cast<double>(k.size(0))));
      const int64_t j = static_cast<int64_t>(std::floor(p[1] * static_cast<double>(k.size(1))));
      const int64_t l = static_cast<int64_t>(std::floor(p[2] * static_cast<double>(k.size(2))));
      k[i][j][l] += c10::Scalar(artifact);
    }
    return image_of(k);
  });
}

at::Tensor volume_motion(const at::Tensor& vol_in, const std::vector<RigidMotion>& motions, int axis) {
  const at::Tensor vol = checked_volume(vol_in, "motion");
  MN_CHECK(axis >= 0 && axis < 3, "motion: axis ", axis, " is outside 0..2");
  if (motions.empty()) return vol;
  return per_channel(vol, [&](const at::Tensor& x) {
    std::vector<at::Tensor> spectra{kspace(x)};
    for (const RigidMotion& m : motions) spectra.push_back(kspace(moved(x, m)));
    size_t centre = spectra.size() - 1;  // the still k-space goes where the centre of the acquisition is
    for (size_t i = 0; i < motions.size(); ++i)
      if (motions[i].time > 0.5) {
        centre = i;
        break;
      }
    std::swap(spectra[0], spectra[centre]);
    const int64_t n = x.size(axis);
    at::Tensor out = torch::empty_like(spectra[0]);
    int64_t start = 0;
    for (size_t s = 0; s < spectra.size(); ++s) {
      const int64_t end =
          s < motions.size() ? std::clamp<int64_t>(static_cast<int64_t>(n * motions[s].time), start, n) : n;
      out.slice(axis, start, end).copy_(spectra[s].slice(axis, start, end));
      start = end;
    }
    return image_of(out);
  });
}

at::Tensor volume_anisotropy(const at::Tensor& vol_in, int axis, double factor) {
  const at::Tensor vol = checked_volume(vol_in, "anisotropy");
  MN_CHECK(axis >= 0 && axis < 3 && factor >= 1, "anisotropy: axis ", axis, " and factor ", factor,
           " out of range");
  return per_channel(vol, [&](const at::Tensor& x) {
    const at::Tensor line = x.movedim(axis, 2).contiguous();
    const int64_t rows = line.size(0) * line.size(1), n = line.size(2);
    const auto coarse_n = static_cast<int64_t>(std::floor(static_cast<double>(n - 1) / factor)) + 1;
    at::Tensor out = torch::empty_like(line);
    const double* src = line.data_ptr<double>();
    double* dst = out.data_ptr<double>();
    std::vector<double> coarse(static_cast<size_t>(coarse_n));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t k = 0; k < coarse_n; ++k)
        coarse[k] = linear(src + r * n, 1, n, static_cast<double>(k) * factor);
      for (int64_t i = 0; i < n; ++i)
        dst[r * n + i] = linear(coarse.data(), 1, coarse_n, static_cast<double>(i) / factor);
    }
    return out.movedim(2, axis).contiguous();
  });
}

at::Tensor volume_gamma(const at::Tensor& vol_in, double gamma) {
  const at::Tensor vol = checked_volume(vol_in, "gamma");
  MN_CHECK(gamma > 0, "gamma: ", gamma, " must be positive");
  return vol.clamp_min(0).pow(gamma);
}

}  // namespace mednet::augment
