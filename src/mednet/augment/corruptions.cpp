#include "mednet/augment/corruptions.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/image_file.h"

namespace mednet::augment {

at::Tensor detail::checked_picture(const at::Tensor& img, const char* what) {
  MN_CHECK(img.dim() == 3 && (img.size(0) == 1 || img.size(0) == 3) && img.scalar_type() == torch::kUInt8,
           what, ": expected a uint8 picture [1 or 3, H, W], got ", img.sizes(), " ", img.scalar_type());
  return img.to(torch::kCPU).contiguous();
}

namespace {
using detail::checked_picture;

at::Generator generator(uint64_t seed) {
  return at::detail::createCPUGenerator(seed);
}

// [0, 1] doubles back to uint8 as NumPy's (clip(x, 0, 1) * 255).astype(np.uint8) does: truncation.
at::Tensor truncate_unit(const at::Tensor& unit) {
  return (unit.clamp(0, 1) * 255).floor().to(torch::kUInt8);
}

// ---- PIL's resampling (Resample.c): separable, horizontal pass first, 22-bit fixed-point weights.
constexpr int kPrecisionBits = 32 - 8 - 2;

struct Coefficients {
  int ksize = 0;
  std::vector<int> bounds;  // per output: first input, count
  std::vector<int> weights;
};

Coefficients box_coefficients(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 0.5 * filterscale;
  Coefficients c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<size_t>(out_size) * 2);
  c.weights.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> k(static_cast<size_t>(c.ksize));
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
    double ww = 0;
    for (int x = 0; x < xmax; ++x) {
      const double u = (x + xmin - center + 0.5) * ss;
      k[x] = (u > -0.5 && u <= 0.5) ? 1.0 : 0.0;
      ww += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double w = ww != 0 ? k[x] / ww : k[x];
      c.weights[static_cast<size_t>(xx) * c.ksize + x] = static_cast<int>(0.5 + w * (1 << kPrecisionBits));
    }
    c.bounds[2 * xx] = xmin;
    c.bounds[2 * xx + 1] = xmax;
  }
  return c;
}

uint8_t clip8(int64_t v) {
  return static_cast<uint8_t>(std::clamp<int64_t>(v >> kPrecisionBits, 0, 255));
}

// One pass along an axis of [C, H, W] uint8 (axis 2: rows, horizontal; axis 1: columns, vertical).
at::Tensor resample_axis(const at::Tensor& in, int axis, int out_size) {
  const int64_t c = in.size(0), h = in.size(1), w = in.size(2);
  const int in_size = static_cast<int>(in.size(axis));
  if (in_size == out_size) return in;
  const Coefficients k = box_coefficients(in_size, out_size);
  const int64_t oh = axis == 1 ? out_size : h, ow = axis == 2 ? out_size : w;
  at::Tensor out = torch::empty({c, oh, ow}, torch::kUInt8);
  const uint8_t* src = in.data_ptr<uint8_t>();
  uint8_t* dst = out.data_ptr<uint8_t>();
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t x = 0; x < ow; ++x) {
        const int o = static_cast<int>(axis == 2 ? x : y);
        const int first = k.bounds[2 * o], count = k.bounds[2 * o + 1];
        int64_t ss = int64_t{1} << (kPrecisionBits - 1);
        for (int i = 0; i < count; ++i) {
          const int64_t sy = axis == 1 ? first + i : y, sx = axis == 2 ? first + i : x;
          ss += int64_t{src[(ch * h + sy) * w + sx]} * k.weights[static_cast<size_t>(o) * k.ksize + i];
        }
        dst[(ch * oh + y) * ow + x] = clip8(ss);
      }
  return out;
}

at::Tensor pil_box_resize(const at::Tensor& img, int out_h, int out_w) {
  return resample_axis(resample_axis(img, 2, out_w), 1, out_h);
}

// ---- PIL's Image.blend(degenerate, img, alpha) on uint8 (Blend.c), alpha in single precision.
uint8_t pil_blend(int in1, int in2, float alpha) {
  const float v = static_cast<float>(in1) + alpha * static_cast<float>(in2 - in1);
  if (alpha >= 0 && alpha <= 1.0f) return static_cast<uint8_t>(v);
  if (v <= 0.0f) return 0;
  if (v >= 255.0f) return 255;
  return static_cast<uint8_t>(v);
}

at::Tensor blend_with(const at::Tensor& img, int degenerate, double factor) {
  at::Tensor out = torch::empty_like(img);
  const uint8_t* src = img.data_ptr<uint8_t>();
  uint8_t* dst = out.data_ptr<uint8_t>();
  const float alpha = static_cast<float>(factor);
  for (int64_t i = 0; i < img.numel(); ++i) dst[i] = pil_blend(degenerate, src[i], alpha);
  return out;
}

// OpenCV's BORDER_REFLECT_101 index (gfedcb|abcdefgh|gfedcba), for any offset.
int64_t reflect101(int64_t i, int64_t n) {
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

// The 2D correlation of each channel of [C, H, W] doubles with a square kernel, reflected borders.
at::Tensor filter2d(const at::Tensor& img, const std::vector<double>& kernel, int64_t side) {
  const int64_t c = img.size(0), h = img.size(1), w = img.size(2), a = side / 2;
  at::Tensor out = torch::zeros_like(img);
  const double* src = img.data_ptr<double>();
  double* dst = out.data_ptr<double>();
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        double s = 0;
        for (int64_t i = 0; i < side; ++i) {
          const double* row = src + (ch * h + reflect101(y + i - a, h)) * w;
          for (int64_t j = 0; j < side; ++j) s += kernel[i * side + j] * row[reflect101(x + j - a, w)];
        }
        dst[(ch * h + y) * w + x] = s;
      }
  return out;
}

// MedMNIST-C's disk: the pixels within the radius on a grid of -8..8 (or -radius..radius beyond 8),
// normalised in single precision, then OpenCV's GaussianBlur (3x3, or 5x5 beyond 8) of sigma alias_blur.
std::vector<double> disk_kernel(double radius, double alias_blur, int64_t* side_out) {
  std::vector<double> grid;
  if (radius <= 8) {
    for (int v = -8; v <= 8; ++v) grid.push_back(v);
  } else {
    for (double v = -radius; v < radius + 1; v += 1) grid.push_back(v);
  }
  const auto n = static_cast<int64_t>(grid.size());
  std::vector<float> disk(static_cast<size_t>(n * n));
  float total = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      disk[i * n + j] = grid[j] * grid[j] + grid[i] * grid[i] <= radius * radius ? 1.0f : 0.0f;
      total += disk[i * n + j];
    }
  for (float& v : disk) v /= total;
  const int taps = radius <= 8 ? 3 : 5;
  std::vector<float> g(static_cast<size_t>(taps));
  double sum = 0;
  for (int i = 0; i < taps; ++i) {
    const double x = i - (taps - 1) * 0.5;
    g[i] = static_cast<float>(std::exp(-0.5 / (alias_blur * alias_blur) * x * x));
    sum += g[i];
  }
  for (float& v : g) v = static_cast<float>(v * (1.0 / sum));
  std::vector<float> rows(disk.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float s = 0;
      for (int t = 0; t < taps; ++t) s += g[t] * disk[i * n + reflect101(j + t - taps / 2, n)];
      rows[i * n + j] = s;
    }
  std::vector<double> kernel(disk.size());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float s = 0;
      for (int t = 0; t < taps; ++t) s += g[t] * rows[reflect101(i + t - taps / 2, n) * n + j];
      kernel[i * n + j] = s;
    }
  *side_out = n;
  return kernel;
}

// ImageMagick's GetOptimalKernelWidth1D (gem.c).
int64_t optimal_kernel_width(double radius, double sigma) {
  if (radius > 1e-12) return static_cast<int64_t>(2.0 * std::ceil(radius) + 1.0);
  const double gamma = std::fabs(sigma);
  if (gamma <= 1e-12) return 3;
  const double alpha = 1.0 / (2.0 * gamma * gamma), beta = 1.0 / (std::sqrt(2.0 * M_PI) * gamma);
  int64_t width = 5;
  for (;; width += 2) {
    double normalize = 0;
    const int64_t j = (width - 1) / 2;
    for (int64_t i = -j; i <= j; ++i) normalize += std::exp(-(static_cast<double>(i * i)) * alpha) * beta;
    const double value = std::exp(-(static_cast<double>(j * j)) * alpha) * beta / normalize;
    if (value < 1.0 / 65535.0 || value < 1e-12) break;
  }
  return width - 2;
}

}  // namespace

at::Tensor pixelate(const at::Tensor& img_in, double factor) {
  const at::Tensor img = checked_picture(img_in, "pixelate");
  MN_CHECK(factor > 0 && factor <= 1, "pixelate: factor ", factor, " is outside (0, 1]");
  const auto h = static_cast<int>(img.size(1)), w = static_cast<int>(img.size(2));
  const int sh = std::max(1, static_cast<int>(h * factor)), sw = std::max(1, static_cast<int>(w * factor));
  return pil_box_resize(pil_box_resize(img, sh, sw), h, w);
}

at::Tensor jpeg_compression(const at::Tensor& img_in, int quality) {
  const at::Tensor img = checked_picture(img_in, "jpeg_compression");
  return data::decode_jpeg(data::encode_jpeg(img, quality), "jpeg_compression");
}

at::Tensor gaussian_noise(const at::Tensor& img_in, double sigma, uint64_t seed) {
  const at::Tensor x = checked_picture(img_in, "gaussian_noise").to(torch::kDouble) / 255.0;
  return truncate_unit(x + at::randn(x.sizes(), generator(seed), torch::kDouble) * sigma);
}

at::Tensor speckle_noise(const at::Tensor& img_in, double sigma, uint64_t seed) {
  const at::Tensor x = checked_picture(img_in, "speckle_noise").to(torch::kDouble) / 255.0;
  return truncate_unit(x + x * (at::randn(x.sizes(), generator(seed), torch::kDouble) * sigma));
}

at::Tensor impulse_noise(const at::Tensor& img_in, double amount, uint64_t seed) {
  const at::Tensor x = checked_picture(img_in, "impulse_noise").to(torch::kDouble) / 255.0;
  at::Generator gen = generator(seed);
  const at::Tensor flipped = at::rand(x.sizes(), gen, torch::kDouble) < amount;
  const at::Tensor salted = at::rand(x.sizes(), gen, torch::kDouble) < 0.5;
  const at::Tensor out = torch::where(flipped, salted.to(torch::kDouble), x);
  return truncate_unit(out);
}

at::Tensor shot_noise(const at::Tensor& img_in, double photons, uint64_t seed) {
  const at::Tensor x = checked_picture(img_in, "shot_noise").to(torch::kDouble) / 255.0;
  return truncate_unit(at::poisson(x * photons, generator(seed)) / photons);
}

at::Tensor defocus_blur(const at::Tensor& img_in, double radius, double alias_blur) {
  const at::Tensor x = checked_picture(img_in, "defocus_blur").to(torch::kDouble) / 255.0;
  MN_CHECK(radius >= 0 && alias_blur > 0, "defocus_blur: radius ", radius, " and alias blur ", alias_blur,
           " must be >= 0 and > 0");
  int64_t side = 0;
  const std::vector<double> kernel = disk_kernel(radius, alias_blur, &side);
  return truncate_unit(filter2d(x.contiguous(), kernel, side));
}

at::Tensor motion_blur(const at::Tensor& img_in, double radius, double sigma, double angle) {
  const at::Tensor img = checked_picture(img_in, "motion_blur");
  const int64_t width = optimal_kernel_width(radius, sigma);
  const double s = std::fabs(sigma) < 1e-12 ? 1e-12 : sigma;
  std::vector<double> kernel(static_cast<size_t>(width));
  double normalize = 0;
  for (int64_t i = 0; i < width; ++i) {
    kernel[i] = std::exp(-(static_cast<double>(i * i)) / (2.0 * s * s)) / (std::sqrt(2.0 * M_PI) * s);
    normalize += kernel[i];
  }
  for (double& k : kernel) k /= normalize;
  const double px = static_cast<double>(width) * std::sin(angle * M_PI / 180.0);
  const double py = static_cast<double>(width) * std::cos(angle * M_PI / 180.0);
  const double len = std::hypot(px, py);
  std::vector<int64_t> dx(static_cast<size_t>(width)), dy(static_cast<size_t>(width));
  for (int64_t i = 0; i < width; ++i) {
    dx[i] = static_cast<int64_t>(std::ceil(static_cast<double>(i) * py / len - 0.5));
    dy[i] = static_cast<int64_t>(std::ceil(static_cast<double>(i) * px / len - 0.5));
  }
  const int64_t c = img.size(0), h = img.size(1), w = img.size(2);
  at::Tensor out = torch::empty_like(img);
  const uint8_t* src = img.data_ptr<uint8_t>();
  uint8_t* dst = out.data_ptr<uint8_t>();
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        double acc = 0;  // in ImageMagick's 16-bit quantum
        for (int64_t i = 0; i < width; ++i) {
          const int64_t sy = std::clamp<int64_t>(y + dy[i], 0, h - 1),
                        sx = std::clamp<int64_t>(x + dx[i], 0, w - 1);
          acc += kernel[i] * 257.0 * src[(ch * h + sy) * w + sx];
        }
        // ImageMagick keeps the sum as a 16-bit quantum (rounded); its 8-bit PNG truncates quantum / 257.
        const double q = std::floor(std::clamp(acc, 0.0, 65535.0) + 0.5);
        dst[(ch * h + y) * w + x] = static_cast<uint8_t>(std::min(255.0, std::floor(q / 257.0)));
      }
  return out;
}

double default_gaussian_sigma(int kernel_size) {
  return 0.15 * kernel_size + 0.35;
}

at::Tensor gaussian_blur(const at::Tensor& img_in, int kernel_size, double sigma) {
  const at::Tensor img = checked_picture(img_in, "gaussian_blur");
  MN_CHECK(kernel_size >= 1 && kernel_size % 2 == 1 && sigma > 0, "gaussian_blur: kernel size ", kernel_size,
           " must be odd and sigma ", sigma, " positive");
  if (kernel_size == 1) return img.clone();
  const double half = (kernel_size - 1) * 0.5;
  const at::Tensor x = torch::linspace(-half, half, kernel_size, torch::kFloat);
  const at::Tensor pdf = torch::exp(-0.5 * (x / static_cast<float>(sigma)).pow(2));
  const at::Tensor k1 = pdf / pdf.sum();
  const at::Tensor k2 = torch::mm(k1.unsqueeze(1), k1.unsqueeze(0));
  const int64_t c = img.size(0);
  const at::Tensor weight = k2.expand({c, 1, kernel_size, kernel_size});
  const int64_t p = kernel_size / 2;
  namespace F = torch::nn::functional;
  at::Tensor f =
      F::pad(img.to(torch::kFloat).unsqueeze(0), F::PadFuncOptions({p, p, p, p}).mode(torch::kReflect));
  f = torch::conv2d(f, weight, c10::optional<at::Tensor>(), at::IntArrayRef{1, 1}, at::IntArrayRef{0, 0},
                    at::IntArrayRef{1, 1}, c);
  return torch::round(f).squeeze(0).clamp(0, 255).to(torch::kUInt8);
}

at::Tensor brightness(const at::Tensor& img_in, double factor) {
  return blend_with(checked_picture(img_in, "brightness"), 0, factor);
}

at::Tensor contrast(const at::Tensor& img_in, double factor) {
  const at::Tensor img = checked_picture(img_in, "contrast");
  // PIL's grey level of RGB (ITU-R 601-2 in 16-bit fixed point), its mean, rounded half up.
  at::Tensor grey;
  if (img.size(0) == 1) {
    grey = img[0].to(torch::kLong);
  } else {
    const at::Tensor v = img.to(torch::kLong);
    grey = (v[0] * 19595 + v[1] * 38470 + v[2] * 7471 + 0x8000).div(65536, "floor");
  }
  const double mean = static_cast<double>(grey.sum().item<int64_t>()) / static_cast<double>(grey.numel());
  return blend_with(img, static_cast<int>(mean + 0.5), factor);
}

at::Tensor gamma_correction(const at::Tensor& img_in, double gamma) {
  const at::Tensor img = checked_picture(img_in, "gamma_correction");
  MN_CHECK(gamma > 0, "gamma_correction: gamma ", gamma, " must be positive");
  uint8_t table[256];
  for (int v = 0; v < 256; ++v)
    table[v] = static_cast<uint8_t>(std::min(255.0, (255 + 1 - 1e-3) * std::pow(v / 255.0, gamma)));
  at::Tensor out = torch::empty_like(img);
  const uint8_t* src = img.data_ptr<uint8_t>();
  uint8_t* dst = out.data_ptr<uint8_t>();
  for (int64_t i = 0; i < img.numel(); ++i) dst[i] = table[src[i]];
  return out;
}

}  // namespace mednet::augment
