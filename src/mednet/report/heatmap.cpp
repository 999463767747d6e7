#include "mednet/report/heatmap.h"

#include <algorithm>
#include <array>

#include <torch/torch.h>

#include "mednet/core/error.h"

namespace mednet::report {

std::array<uint8_t, 3> inferno(double t) {
  // Polynomial fit of matplotlib's inferno (degree 6 per channel, max error below 1/255 in practice).
  static const double c[7][3] = {{0.0002189403691192265, 0.001651004631001012, -0.01948089843709184},
                                 {0.1065134194856116, 0.5639564367884091, 3.932712388889277},
                                 {11.60249308247187, -3.972853965665698, -15.9423941062914},
                                 {-41.70399613139459, 17.43639888205313, 44.35414519872813},
                                 {77.162935699427, -33.40235894210092, -81.80730925738993},
                                 {-71.31942824499214, 32.62606426397723, 73.20951985803202},
                                 {25.13112622477341, -12.24266895238567, -23.07032500287172}};
  t = std::clamp(t, 0.0, 1.0);
  std::array<uint8_t, 3> rgb{};
  for (int k = 0; k < 3; ++k) {
    double v = c[6][k];
    for (int i = 5; i >= 0; --i) v = v * t + c[i][k];
    rgb[static_cast<size_t>(k)] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255));
  }
  return rgb;
}

at::Tensor colorize(const at::Tensor& map) {
  MN_CHECK(map.dim() == 2, "colorize: expected an [H, W] map");
  static const at::Tensor lut = [] {
    at::Tensor l = torch::empty({256, 3}, torch::kByte);
    for (int i = 0; i < 256; ++i) {
      const auto rgb = inferno(i / 255.0);
      for (int k = 0; k < 3; ++k) l[i][k] = rgb[static_cast<size_t>(k)];
    }
    return l;
  }();
  const at::Tensor idx = (map.to(torch::kFloat).clamp(0, 1) * 255).round().to(torch::kLong);
  return lut.index_select(0, idx.reshape({-1}))
      .reshape({map.size(0), map.size(1), 3})
      .permute({2, 0, 1})
      .contiguous();
}

at::Tensor blend(const at::Tensor& image, const at::Tensor& colored, double alpha) {
  MN_CHECK(image.dim() == 3 && colored.dim() == 3 && image.size(1) == colored.size(1) &&
               image.size(2) == colored.size(2),
           "blend: image and heatmap must have the same size");
  const at::Tensor rgb = image.size(0) == 1 ? image.expand({3, image.size(1), image.size(2)}) : image;
  const at::Tensor out = rgb.to(torch::kFloat) * (1 - alpha) + colored.to(torch::kFloat) * alpha;
  return out.round().clamp(0, 255).to(torch::kByte);
}

at::Tensor enlarge_nearest(const at::Tensor& image, int64_t scale) {
  return image.repeat_interleave(scale, 1).repeat_interleave(scale, 2).contiguous();
}

at::Tensor enlarge_smooth(const at::Tensor& map, int64_t size) {
  at::Tensor m = map.to(torch::kFloat).unsqueeze(0).unsqueeze(0);
  if (map.dim() == 2) return torch::upsample_bilinear2d(m, {size, size}, false).squeeze(0).squeeze(0);
  MN_CHECK(map.dim() == 3, "enlarge_smooth: expected a 2D or 3D map");
  return torch::upsample_trilinear3d(m, {size, size, size}, false).squeeze(0).squeeze(0);
}

std::array<int64_t, 3> peak_voxel(const at::Tensor& map) {
  const int64_t h = map.size(1), w = map.size(2);
  const int64_t peak = map.argmax().item<int64_t>();
  return {peak / (h * w), (peak / w) % h, peak % w};
}

}  // namespace mednet::report
