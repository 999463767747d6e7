#include "mednet/data/user_input.h"

#include <algorithm>
#include <filesystem>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/strings.h"
#include "mednet/data/image_file.h"
#include "mednet/data/nifti_file.h"
#include "mednet/data/npy.h"

namespace mednet::data {

namespace {

/// ".png", ".nii.gz", ... in lower case.
std::string extension(const std::string& path) {
  const std::string name = core::to_lower(std::filesystem::path(path).filename().string());
  if (name.size() > 7 && name.substr(name.size() - 7) == ".nii.gz") return ".nii.gz";
  return core::to_lower(std::filesystem::path(path).extension().string());
}

std::string dims_text(const at::Tensor& t, int64_t from) {
  std::string s;
  for (int64_t d = from; d < t.dim(); ++d) s += (s.empty() ? "" : "x") + std::to_string(t.size(d));
  return s;
}

}  // namespace

bool is_input_file(const std::string& path) {
  const std::string e = extension(path);
  return e == ".png" || e == ".jpg" || e == ".jpeg" || e == ".npy" || e == ".nii" || e == ".nii.gz";
}

std::string input_stem(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  const std::string e = extension(path);
  return is_input_file(path) ? name.substr(0, name.size() - e.size()) : name;
}

InputFile read_input_file(const std::string& path, int spatial_dims) {
  const std::string e = extension(path);
  if (e != ".nii" && e != ".nii.gz") return {read_input(path, spatial_dims), std::nullopt};
  NiftiVolume v = read_nifti(path);
  if (spatial_dims == 2) {
    MN_CHECK(v.data.size(0) == 1, path, ": a 3D volume (", v.data.size(2), "x", v.data.size(1), "x",
             v.data.size(0), " voxels) given to a 2D model (it takes pictures)");
    return {v.data.select(0, 0).unsqueeze(0), v.geometry};
  }
  return {v.data.unsqueeze(0), v.geometry};
}

at::Tensor read_input(const std::string& path, int spatial_dims) {
  const std::string e = extension(path);
  const char* kind = spatial_dims == 3 ? "3D" : "2D";
  if (e == ".png" || e == ".jpg" || e == ".jpeg") {
    MN_CHECK(spatial_dims == 2, path,
             ": a 2D picture given to a 3D model (it takes volumes: .nii, .nii.gz, .npy)");
    return e == ".png" ? read_png(path) : read_jpeg(path);
  }
  if (e == ".nii" || e == ".nii.gz") return read_input_file(path, spatial_dims).data;
  MN_CHECK(e == ".npy", path, ": unsupported format '", e,
           "' (mednet predict reads .png, .jpg, .jpeg, .npy, .nii and .nii.gz)");
  at::Tensor t = load_npy(path);
  MN_CHECK(t.numel() > 0, path, ": an empty array");
  if (spatial_dims == 2) {
    if (t.dim() == 2) return t.unsqueeze(0);
    if (t.dim() == 3 && (t.size(2) == 1 || t.size(2) == 3) && t.size(0) > 4)
      return t.permute({2, 0, 1}).contiguous();
    if (t.dim() == 3 && (t.size(0) == 1 || t.size(0) == 3)) return t;
  } else {
    if (t.dim() == 3) return t.unsqueeze(0);
    if (t.dim() == 4 && (t.size(0) == 1 || t.size(0) == 3)) return t;
  }
  MN_CHECK(false, path, ": an array of shape ", t.sizes(), " is not a ", kind, " input (the model takes ",
           spatial_dims == 2 ? "[H, W], [H, W, C] or [C, H, W]" : "[D, H, W] or [C, D, H, W]", ")");
  return {};
}

at::Tensor to_uint8_range(const at::Tensor& input, std::vector<std::string>* steps) {
  at::Tensor x = input;
  if (x.scalar_type() != at::kByte) {
    at::Tensor f = x.to(at::kFloat);
    MN_CHECK(torch::isfinite(f).all().item<bool>(), "the input holds NaN or infinite values");
    const float lo = f.min().item<float>(), hi = f.max().item<float>();
    if (lo >= 0 && hi <= 1) {
      f = f * 255;
      if (steps) steps->push_back("scaled 0..1 to 0..255");
    } else if (lo >= 0 && hi <= 255) {
      if (steps) steps->push_back("values 0..255 taken as they are");
    } else {
      f = hi > lo ? (f - lo) * (255.0f / (hi - lo)) : f * 0;
      if (steps)
        steps->push_back("rescaled " + std::to_string(lo) + ".." + std::to_string(hi) + " to 0..255");
    }
    x = f.round().clamp(0, 255).to(at::kByte);
  }
  return x;
}

Conformed conform(const at::Tensor& input, const DatasetInfo& info, int size) {
  Conformed c;
  at::Tensor x = input;
  const int64_t dims = info.spatial_dims();
  MN_CHECK(x.dim() == dims + 1, "an input of ", x.dim() - 1, " spatial dimensions for a ", dims, "D model");
  x = to_uint8_range(x, &c.steps);
  // Channels.
  if (x.size(0) == 3 && info.channels == 1) {
    const at::Tensor f = x.to(at::kFloat);
    x = (f[0] * 0.299 + f[1] * 0.587 + f[2] * 0.114).round().clamp(0, 255).to(at::kByte).unsqueeze(0);
    c.steps.push_back("RGB to gray (ITU-R 601 luma)");
  } else if (x.size(0) == 1 && info.channels == 3) {
    x = dims == 2 ? x.repeat({3, 1, 1}) : x.repeat({3, 1, 1, 1});
    c.steps.push_back("gray repeated to RGB");
  }
  MN_CHECK(x.size(0) == info.channels, "an input with ", x.size(0), " channels for a model of ",
           info.channels);
  // Size.
  bool same = true;
  for (int64_t d = 1; d <= dims; ++d) same = same && x.size(d) == size;
  if (!same) {
    bool shrink = true;
    for (int64_t d = 1; d <= dims; ++d) shrink = shrink && x.size(d) >= size;
    const std::string from = dims_text(x, 1);
    std::vector<int64_t> target(static_cast<size_t>(dims), size);
    at::Tensor f = x.to(at::kFloat).unsqueeze(0);
    namespace F = torch::nn::functional;
    auto o = F::InterpolateFuncOptions().size(target);
    if (shrink) {
      o = o.mode(torch::kArea);
    } else if (dims == 2) {
      o = o.mode(torch::kBilinear).align_corners(false);
    } else {
      o = o.mode(torch::kTrilinear).align_corners(false);
    }
    x = F::interpolate(f, o).squeeze(0).round().clamp(0, 255).to(at::kByte);
    c.steps.push_back("resized " + from + " to " + dims_text(x, 1) +
                      (shrink      ? " (area)"
                       : dims == 2 ? " (bilinear)"
                                   : " (trilinear)"));
  }
  c.image = x.contiguous();
  return c;
}

std::vector<std::string> conversion_lines(const Conformed& c, const DatasetInfo& info, int size) {
  if (!c.steps.empty()) return c.steps;
  return {"none (already " + std::to_string(size) + " px, " + std::to_string(info.channels) + " channel" +
          (info.channels > 1 ? "s" : "") + ", uint8)"};
}

}  // namespace mednet::data
