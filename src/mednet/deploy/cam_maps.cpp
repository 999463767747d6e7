#include "mednet/deploy/cam_maps.h"

#include <algorithm>
#include <array>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/image_file.h"
#include "mednet/data/user_input.h"
#include "mednet/report/heatmap.h"

namespace mednet::deploy {

namespace {

constexpr int64_t kMinShown = 256;  // small inputs are enlarged to at least this many pixels a side

/// A picture for people: uint8 [1 or 3, H, W] (more channels: the first).
at::Tensor display_image(const at::Tensor& chw) {
  at::Tensor u8 = data::to_uint8_range(chw);
  if (u8.size(0) != 1 && u8.size(0) != 3) u8 = u8.narrow(0, 0, 1);
  return u8.contiguous();
}

/// Image and map enlarged together so that the longer side is at least kMinShown pixels.
at::Tensor overlay(const at::Tensor& image, const at::Tensor& map2d) {
  const int64_t h = image.size(1), w = image.size(2);
  const int64_t scale = std::max<int64_t>(1, (kMinShown + std::max(h, w) - 1) / std::max(h, w));
  const at::Tensor big = report::enlarge_nearest(image, scale);
  const at::Tensor heat = report::colorize(resample_map(map2d, {h * scale, w * scale}));
  return report::blend(big, heat);
}

}  // namespace

at::Tensor resample_map(const at::Tensor& map, const std::vector<int64_t>& size) {
  namespace F = torch::nn::functional;
  const bool same = map.sizes().vec() == size;
  if (same) return map.to(at::kFloat);
  auto o = F::InterpolateFuncOptions().size(size).align_corners(false);
  if (size.size() == 2) {
    o = o.mode(torch::kBilinear);
  } else {
    o = o.mode(torch::kTrilinear);
  }
  const at::Tensor x = map.to(at::kFloat).unsqueeze(0).unsqueeze(0);
  return F::interpolate(x, o).squeeze(0).squeeze(0).clamp(0, 1);
}

namespace {

/// Axial (fixed z), coronal (fixed y), sagittal (fixed x) through p = {z, y, x}, side by side with a dark
/// gap; full: the map on the input's grid.
at::Tensor planes_picture(const at::Tensor& input, const at::Tensor& full, const std::array<int64_t, 3>& p) {
  const at::Tensor vol = display_image(input);  // [1 or 3, D, H, W]
  std::vector<at::Tensor> panels;
  int64_t tallest = 0;
  for (int a = 0; a < 3; ++a) {
    const at::Tensor panel = overlay(vol.select(a + 1, p[a]), full.select(a, p[a]));
    tallest = std::max(tallest, panel.size(1));
    panels.push_back(panel);
  }
  std::vector<at::Tensor> row;
  for (const auto& panel : panels) {
    at::Tensor padded = torch::zeros({3, tallest, panel.size(2)}, torch::kUInt8);
    padded.narrow(1, 0, panel.size(1))
        .copy_(panel.size(0) == 1 ? panel.expand({3, panel.size(1), panel.size(2)}) : panel);
    if (!row.empty()) row.push_back(torch::zeros({3, tallest, 8}, torch::kUInt8));
    row.push_back(padded);
  }
  return torch::cat(row, 2).contiguous();
}

void check_map(const at::Tensor& input, const at::Tensor& map, const std::string& what) {
  MN_CHECK(map.dim() == input.dim() - 1, what, ": a ", map.dim(), "D map for a ", input.dim() - 1, "D input");
}

}  // namespace

at::Tensor cam_picture(const at::Tensor& input, const at::Tensor& map, std::vector<int64_t>* peak) {
  check_map(input, map, "map");
  if (map.dim() == 2) return overlay(display_image(input), map);
  const at::Tensor full = resample_map(map, {input.size(1), input.size(2), input.size(3)}).contiguous();
  const std::array<int64_t, 3> p = report::peak_voxel(full);  // {z, y, x}
  if (peak) *peak = {p[2], p[1], p[0]};
  return planes_picture(input, full, p);
}

CamFiles write_cam_files(const std::string& base, const at::Tensor& input,
                         const std::optional<data::NiftiGeometry>& geometry, const at::Tensor& map) {
  CamFiles out;
  out.zero = !(map.max().item<float>() > 0);
  check_map(input, map, base);
  if (map.dim() == 2) {
    const std::string png = base + ".png";
    data::write_png(png, overlay(display_image(input), map));
    out.written.push_back(png);
    return out;
  }
  // 3D: the map on the input's grid [D, H, W] = [nz, ny, nx].
  const at::Tensor full = resample_map(map, {input.size(1), input.size(2), input.size(3)}).contiguous();
  const std::string nii = base + ".nii.gz";
  data::write_nifti(nii, full, geometry.value_or(data::NiftiGeometry{}), "mednet class activation map");
  out.written.push_back(nii);
  const std::array<int64_t, 3> p = report::peak_voxel(full);  // {z, y, x}
  out.peak = {p[2], p[1], p[0]};
  const std::string png = base + ".planes.png";
  data::write_png(png, planes_picture(input, full, p));
  out.written.push_back(png);
  return out;
}

}  // namespace mednet::deploy
