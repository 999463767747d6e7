// MedMNIST-C's corruptions of the microscopy and dermatoscopy sets (PathMNIST, BloodMNIST, DermaMNIST):
// saturate (scikit-image's rgb2hsv/hsv2rgb), zoom blur (SciPy's zoom), black corner (OpenCV's filled circle)
// and bubbles (Pillow's ellipses and alpha paste). The pictures are uint8 [C, H, W] on the CPU.
#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include <torch/torch.h>

#include "mednet/augment/corruptions.h"
#include "mednet/core/error.h"

namespace mednet::augment {
namespace {

// NumPy's remainder of x by 1: in [0, 1), the sign of the divisor.
double remainder_one(double x) {
  double m = std::fmod(x, 1.0);
  if (m != 0 && m < 0) m += 1.0;
  return m;
}

// One pixel through rgb2hsv, s + amount clipped, hsv2rgb, as scikit-image writes them.
void saturate_pixel(double rgb[3], double amount) {
  const double r = rgb[0], g = rgb[1], b = rgb[2];
  const double v = std::max(r, std::max(g, b));
  const double delta = v - std::min(r, std::min(g, b));
  double s = delta == 0 ? 0.0 : delta / v;
  double h = 0;
  if (delta != 0) {
    // later maxima win, as scikit-image assigns red, then green, then blue
    if (b == v)
      h = 4.0 + (r - g) / delta;
    else if (g == v)
      h = 2.0 + (b - r) / delta;
    else
      h = (g - b) / delta;
    h = remainder_one(h / 6.0);
  }
  s = std::clamp(s + amount, 0.0, 1.0);
  const double hi = std::floor(h * 6);
  const double f = h * 6 - hi;
  const double p = v * (1 - s), q = v * (1 - f * s), t = v * (1 - (1 - f) * s);
  const double table[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
  const int k = static_cast<int>(static_cast<uint8_t>(hi)) % 6;
  for (int c = 0; c < 3; ++c) rgb[c] = table[k][c];
}

// SciPy's ndimage.zoom, order 1, grid_mode False, of a [C, n, n] float plane stack to [C, m, m]: output index
// i samples the input at i (n - 1) / (m - 1), the 2 x 2 neighbours weighted linearly, in double, stored
// as float.
std::vector<float> zoom_linear(const float* in, int64_t channels, int n, int m) {
  const double ratio = m > 1 ? static_cast<double>(n - 1) / (m - 1) : 1.0;
  std::vector<int> lo(static_cast<size_t>(m));
  std::vector<double> w(static_cast<size_t>(m));
  for (int i = 0; i < m; ++i) {
    const double x = i * ratio;
    lo[static_cast<size_t>(i)] = static_cast<int>(std::floor(x));
    w[static_cast<size_t>(i)] = x - std::floor(x);
  }
  // a neighbour beyond the last row or column is SciPy's constant 0, weighted by (almost) nothing
  const auto at = [&](const float* plane, int y, int x) -> double {
    return (y < n && x < n) ? plane[static_cast<int64_t>(y) * n + x] : 0.0;
  };
  std::vector<float> out(static_cast<size_t>(channels * m * m));
  for (int64_t c = 0; c < channels; ++c) {
    const float* plane = in + c * n * n;
    for (int i = 0; i < m; ++i) {
      const int y = lo[static_cast<size_t>(i)];
      const double wy = w[static_cast<size_t>(i)];
      for (int j = 0; j < m; ++j) {
        const int x = lo[static_cast<size_t>(j)];
        const double wx = w[static_cast<size_t>(j)];
        // SciPy's sum: each neighbour times its row weight, then its column weight, in row-major order
        double v = 0;
        v += at(plane, y, x) * (1 - wy) * (1 - wx);
        v += at(plane, y, x + 1) * (1 - wy) * wx;
        v += at(plane, y + 1, x) * wy * (1 - wx);
        v += at(plane, y + 1, x + 1) * wy * wx;
        out[static_cast<size_t>((c * m + i) * m + j)] = static_cast<float>(v);
      }
    }
  }
  return out;
}

// The rows of Pillow's filled ellipse in the box [x0, x1] x [y0, y1] (its "ellipseNew" rasterizer): each
// quarter is traced on the lattice of points (2i + a % 2, 2j + b % 2) of the doubled box, a = x1 - x0 and
// b = y1 - y0, stepping to whichever neighbour is nearest the ellipse; every row gets the span between
// the mirrored traces. fill(x_from, y, x_to) receives inclusive spans in image coordinates.
template <typename Fill>
void pillow_filled_ellipse(int x0, int y0, int x1, int y1, const Fill& fill) {
  const int64_t a = x1 - x0, b = y1 - y0;
  if (a < 0 || b < 0) return;
  const int64_t a2 = a * a, b2 = b * b, a2b2 = a2 * b2;
  const auto off = [&](int64_t x, int64_t y) { return std::llabs(a2 * y * y + b2 * x * x - a2b2); };
  // the quarter trace from (a, b % 2) to (a % 2, b)
  std::vector<std::pair<int64_t, int64_t>> trace;
  int64_t cx = a, cy = b % 2;
  while (true) {
    trace.emplace_back(cx, cy);
    if (cx == a % 2 && cy == b) break;
    int64_t nx = cx, ny = cy + 2, best = off(nx, ny);
    if (cx > 1) {
      const int64_t diagonal = off(cx - 2, cy + 2);
      if (best > diagonal) nx = cx - 2, ny = cy + 2, best = diagonal;
      if (best > off(cx - 2, cy)) nx = cx - 2, ny = cy;
    }
    cx = nx;
    cy = ny;
  }
  // per row y of the trace, its rightmost point r; the filled row spans -r..r (the inner trace of a fill
  // is empty, so the left end is the centre column a % 2, mirrored)
  const auto emit = [&](int64_t l, int64_t y, int64_t r) {
    fill(static_cast<int>(x0 + (l + a) / 2), static_cast<int>(y0 + (y + b) / 2),
         static_cast<int>(x0 + (r + a) / 2));
  };
  const int64_t left = a % 2;
  size_t i = 0;
  while (i < trace.size()) {
    const int64_t y = trace[i].second, r = trace[i].first;
    while (i < trace.size() && trace[i].second <= y) ++i;
    if ((left > 0 || left < r) && y > 0) emit(left == 0 ? 2 : left, y, r);
    if (y > 0) emit(-r, y, -left);
    if (left > 0 || left < r) emit(left == 0 ? 2 : left, -y, r);
    emit(-r, -y, -left);
  }
}

}  // namespace

at::Tensor saturate(const at::Tensor& img, double amount) {
  const at::Tensor x = detail::checked_picture(img, "saturate");
  if (x.size(0) != 3) return x.clone();
  const int64_t plane = x.size(1) * x.size(2);
  at::Tensor out = torch::empty_like(x);
  const uint8_t* in = x.data_ptr<uint8_t>();
  uint8_t* o = out.data_ptr<uint8_t>();
  for (int64_t i = 0; i < plane; ++i) {
    double rgb[3];
    for (int c = 0; c < 3; ++c) rgb[c] = in[c * plane + i] / 255.0;
    saturate_pixel(rgb, amount);
    for (int c = 0; c < 3; ++c) o[c * plane + i] = static_cast<uint8_t>(std::clamp(rgb[c], 0.0, 1.0) * 255);
  }
  return out;
}

std::vector<double> numpy_arange(double start, double stop, double step) {
  MN_CHECK(step > 0 && stop > start, "arange: expected start < stop and a positive step");
  const auto count = static_cast<int64_t>(std::ceil((stop - start) / step));
  const double delta = (start + step) - start;  // NumPy fills start + i * (second - first)
  std::vector<double> v;
  for (int64_t i = 0; i < count; ++i) v.push_back(start + static_cast<double>(i) * delta);
  return v;
}

at::Tensor zoom_blur(const at::Tensor& img, const std::vector<double>& factors) {
  const at::Tensor x = detail::checked_picture(img, "zoom_blur");
  MN_CHECK(!factors.empty(), "zoom_blur: no zoom factors");
  MN_CHECK(x.size(1) == x.size(2), "zoom_blur: expected a square picture, got ", x.sizes());
  const int64_t channels = x.size(0);
  const int h = static_cast<int>(x.size(1));
  const int64_t count = channels * h * h;
  std::vector<float> unit(static_cast<size_t>(count)), sum(static_cast<size_t>(count), 0.0f);
  const uint8_t* in = x.data_ptr<uint8_t>();
  for (int64_t i = 0; i < count; ++i) unit[static_cast<size_t>(i)] = static_cast<float>(in[i] / 255.0);
  for (double z : factors) {
    MN_CHECK(z >= 1, "zoom_blur: a zoom factor below 1 (", z, ")");
    const int ch = static_cast<int>(std::ceil(h / z));
    const int top = (h - ch) / 2;  // ch <= h, so floor division
    std::vector<float> crop(static_cast<size_t>(channels * ch * ch));
    for (int64_t c = 0; c < channels; ++c)
      for (int i = 0; i < ch; ++i)
        for (int j = 0; j < ch; ++j)
          crop[static_cast<size_t>((c * ch + i) * ch + j)] =
              unit[static_cast<size_t>((c * h + top + i) * h + top + j)];
    const int m = static_cast<int>(std::nearbyint(ch * z));  // Python's round: halves to even
    const std::vector<float> zoomed = zoom_linear(crop.data(), channels, ch, m);
    const int trim = (m - h) / 2;
    for (int64_t c = 0; c < channels; ++c)
      for (int i = 0; i < h; ++i)
        for (int j = 0; j < h; ++j)
          sum[static_cast<size_t>((c * h + i) * h + j)] +=
              zoomed[static_cast<size_t>((c * m + trim + i) * m + trim + j)];
  }
  at::Tensor out = torch::empty_like(x);
  uint8_t* o = out.data_ptr<uint8_t>();
  const auto n = static_cast<float>(factors.size() + 1);
  for (int64_t i = 0; i < count; ++i) {
    const float v = (unit[static_cast<size_t>(i)] + sum[static_cast<size_t>(i)]) / n;
    o[i] = static_cast<uint8_t>(std::clamp(v, 0.0f, 1.0f) * 255.0f);
  }
  return out;
}

at::Tensor bubble(const at::Tensor& img, const std::vector<Bubble>& bubbles, int border) {
  const at::Tensor x = detail::checked_picture(img, "bubble");
  MN_CHECK(border >= 0, "bubble: a negative border");
  const int height = static_cast<int>(x.size(1)), width = static_cast<int>(x.size(2));
  std::vector<uint8_t> alpha(static_cast<size_t>(height) * width, 0);  // the white layer's alpha
  const auto paint = [&](uint8_t value) {
    return [&, value](int from, int y, int to) {
      if (y < 0 || y >= height) return;
      if (from > to) std::swap(from, to);
      for (int xx = std::max(0, from); xx <= std::min(width - 1, to); ++xx)
        alpha[static_cast<size_t>(y) * width + xx] = value;
    };
  };
  for (const Bubble& b : bubbles) {
    MN_CHECK(b.radius >= 0, "bubble: a negative radius");
    const int g = b.radius + border;
    pillow_filled_ellipse(b.x - g, b.y - g, b.x + g, b.y + g, paint(130));
    pillow_filled_ellipse(b.x - b.radius, b.y - b.radius, b.x + b.radius, b.y + b.radius, paint(100));
  }
  at::Tensor out = x.clone();
  uint8_t* o = out.data_ptr<uint8_t>();
  const int64_t plane = static_cast<int64_t>(height) * width;
  for (int64_t c = 0; c < x.size(0); ++c)
    for (int64_t i = 0; i < plane; ++i) {
      const int a = alpha[static_cast<size_t>(i)];
      const int v = o[c * plane + i] * (255 - a) + 255 * a + 128;  // Pillow's BLEND: x / 255, rounded
      o[c * plane + i] = static_cast<uint8_t>(((v >> 8) + v) >> 8);
    }
  return out;
}

std::vector<Bubble> draw_bubbles(int side, int max_radius, int max_count, uint64_t seed) {
  MN_CHECK(side > 0 && max_radius >= 3 && max_count >= 7,
           "bubble: expected a maximum radius of 3 or more and ", "7 bubbles or more, got ", max_radius,
           " and ", max_count);
  std::mt19937_64 rng(seed);
  const auto randint = [&](int lo, int hi) {  // inclusive, as Python's random.randint
    return lo + static_cast<int>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  std::vector<Bubble> out(static_cast<size_t>(randint(7, max_count)));
  for (Bubble& b : out) {
    b.radius = std::max(1, static_cast<int>(std::lround(randint(3, max_radius) * side / 224.0)));
    b.radius = std::min(b.radius, side / 2);
    b.x = randint(b.radius, side - b.radius);
    b.y = randint(b.radius, side - b.radius);
  }
  return out;
}

int bubble_border(int side) {
  return static_cast<int>(std::lround(2.0 * side / 224.0));
}

at::Tensor black_corner(const at::Tensor& img, double multiplier) {
  const at::Tensor x = detail::checked_picture(img, "black_corner");
  const int height = static_cast<int>(x.size(1)), width = static_cast<int>(x.size(2));
  const int cx = width / 2, cy = height / 2;
  const int half = std::min({cx, cy, width - cx, height - cy});
  const int radius = static_cast<int>(half * multiplier);
  MN_CHECK(radius >= 0, "black_corner: a negative radius (multiplier ", multiplier, ")");
  // The half width of each row of OpenCV's 8-connected filled circle (its midpoint stepping): a step
  // (dx, dy) fills rows +-dy over +-dx and rows +-dx over +-dy.
  std::vector<int> span(static_cast<size_t>(radius) + 1, -1);
  int err = 0, dx = radius, dy = 0, plus = 1, minus = 2 * radius - 1;
  while (dx >= dy) {
    span[static_cast<size_t>(dy)] = std::max(span[static_cast<size_t>(dy)], dx);
    span[static_cast<size_t>(dx)] = std::max(span[static_cast<size_t>(dx)], dy);
    ++dy;
    err += plus;
    plus += 2;
    if (err > 0) {
      err -= minus;
      --dx;
      minus -= 2;
    }
  }
  at::Tensor keep = torch::zeros({height, width}, torch::kBool);
  auto k = keep.accessor<bool, 2>();
  for (int y = 0; y < height; ++y) {
    const int off = std::abs(y - cy);
    if (off > radius) continue;
    const int s = span[static_cast<size_t>(off)];
    for (int xx = std::max(0, cx - s); xx <= std::min(width - 1, cx + s); ++xx) k[y][xx] = true;
  }
  return x * keep.unsqueeze(0).to(torch::kUInt8);
}

}  // namespace mednet::augment
