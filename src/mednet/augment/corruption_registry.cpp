#include "mednet/augment/corruption_registry.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "mednet/augment/corruptions.h"
#include "mednet/core/error.h"

namespace mednet::augment {
namespace {

using Params = std::vector<std::vector<double>>;

// One value per severity.
Params one(std::initializer_list<double> v) {
  Params p;
  for (double x : v) p.push_back({x});
  return p;
}

CorruptionSpec spec(std::string name, std::string kind, Params p, bool implemented = true) {
  p.resize(5);  // the registry lists a sixth severity for a few; MedMNIST-C scores the first five
  return {std::move(name), std::move(kind), std::move(p), implemented};
}

CorruptionSpec missing(std::string name) {
  return spec(std::move(name), "", Params(5), false);
}

// The registry of medmnistc-api (registry.py), transcribed; kinds mednet does not compute are kept by name.
std::map<std::string, std::vector<CorruptionSpec>> registry() {
  const auto organ = [] {
    return std::vector<CorruptionSpec>{
        spec("pixelate", "pixelate", one({0.7, 0.6, 0.5, 0.40, 0.35})),
        spec("jpeg_compression", "jpeg", one({50, 30, 15, 10, 7})),
        spec("gaussian_noise", "gaussian_noise", one({0.04, 0.08, 0.12, 0.16, 0.20})),
        spec("speckle_noise", "speckle_noise", one({0.05, 0.10, 0.20, 0.30, 0.40})),
        spec("impulse_noise", "impulse_noise", one({0.01, 0.02, 0.03, 0.05, 0.08})),
        spec("shot_noise", "shot_noise", one({200, 100, 50, 25, 15})),
        spec("gaussian_blur", "gaussian_blur", one({11, 13, 15, 17, 21})),
        spec("brightness_up", "brightness", one({1.2, 1.3, 1.4, 1.5, 1.6})),
        spec("brightness_down", "brightness", one({0.8, 0.75, 0.7, 0.65, 0.60})),
        spec("contrast_up", "contrast", one({1.3, 1.4, 1.6, 1.7, 1.8})),
        spec("contrast_down", "contrast", one({0.8, 0.7, 0.6, 0.55, 0.5})),
        spec("gamma_corr_up", "gamma", one({1.3, 1.4, 1.6, 1.8, 2.0})),
        spec("gamma_corr_down", "gamma", one({0.9, 0.8, 0.7, 0.6, 0.4}))};
  };
  std::map<std::string, std::vector<CorruptionSpec>> r;
  r["pathmnist"] = {spec("pixelate", "pixelate", one({0.8, 0.6, 0.40, 0.30, 0.25})),
                    spec("jpeg_compression", "jpeg", one({50, 30, 15, 10, 7})),
                    spec("defocus_blur", "defocus_blur", {{3, 0.1}, {4, 0.1}, {5, 0.2}, {6, 0.2}, {7, 0.3}}),
                    spec("motion_blur", "motion_blur", {{5, 5}, {10, 5}, {15, 5}, {15, 8}, {15, 12}}),
                    spec("brightness_up", "brightness", one({1.1, 1.15, 1.2, 1.22, 1.25})),
                    spec("brightness_down", "brightness", one({0.85, 0.80, 0.75, 0.72, 0.70})),
                    spec("contrast_up", "contrast", one({1.1, 1.2, 1.3, 1.4, 1.6})),
                    spec("contrast_down", "contrast", one({0.8, 0.7, 0.6, 0.55, 0.5})),
                    spec("saturate", "saturate", one({0.05, 0.10, 0.15, 0.20, 0.25})),
                    missing("stain_deposit"),
                    spec("bubble", "bubble", {{7, 15}, {10, 15}, {12, 15}, {15, 20}, {17, 25}})};
  r["bloodmnist"] = {
      spec("pixelate", "pixelate", one({0.6, 0.5, 0.40, 0.30, 0.25})),
      spec("jpeg_compression", "jpeg", one({50, 30, 15, 10, 7})),
      spec("defocus_blur", "defocus_blur", {{2, 0.01}, {3, 0.1}, {4, 0.1}, {5, 0.1}, {6, 0.1}}),
      spec("motion_blur", "motion_blur", {{3, 3}, {5, 5}, {10, 5}, {10, 7}, {10, 9}}),
      spec("brightness_up", "brightness", one({1.1, 1.2, 1.3, 1.35, 1.4})),
      spec("brightness_down", "brightness", one({0.9, 0.8, 0.7, 0.6, 0.5})),
      spec("contrast_up", "contrast", one({1.1, 1.15, 1.2, 1.25, 1.3})),
      spec("contrast_down", "contrast", one({0.9, 0.8, 0.7, 0.6, 0.5})),
      spec("saturate", "saturate", one({0.05, 0.10, 0.15, 0.17, 0.20})),
      missing("stain_deposit"),
      spec("bubble", "bubble", {{5, 10}, {7, 10}, {10, 10}, {12, 12}, {15, 12}})};
  r["dermamnist"] = {
      spec("pixelate", "pixelate", one({0.7, 0.5, 0.40, 0.30, 0.25})),
      spec("jpeg_compression", "jpeg", one({30, 20, 15, 10, 7})),
      spec("gaussian_noise", "gaussian_noise", one({0.04, .08, .12, 0.18, 0.26})),
      spec("speckle_noise", "speckle_noise", one({0.05, 0.15, 0.2, 0.35, 0.45})),
      spec("impulse_noise", "impulse_noise", one({0.01, 0.03, 0.06, 0.09, 0.17})),
      spec("shot_noise", "shot_noise", one({60, 25, 18, 10, 5})),
      spec("defocus_blur", "defocus_blur", {{4, 0.1}, {5, 0.2}, {6, 0.3}, {7, 0.4}, {8, 0.5}}),
      spec("motion_blur", "motion_blur", {{10, 5}, {15, 5}, {15, 8}, {15, 12}, {20, 15}}),
      // NumPy arange(start, stop, step) of zoom factors per severity
      spec("zoom_blur", "zoom_blur",
           {{1, 1.11, 0.01}, {1, 1.16, 0.01}, {1, 1.21, 0.02}, {1, 1.26, 0.02}, {1, 1.31, 0.03}}),
      spec("brightness_up", "brightness", one({1.1, 1.2, 1.3, 1.4, 1.5})),
      spec("brightness_down", "brightness", one({0.9, 0.8, 0.7, 0.6, 0.5})),
      spec("contrast_up", "contrast", one({1.1, 1.2, 1.3, 1.4, 1.6})),
      spec("contrast_down", "contrast", one({0.8, 0.7, 0.6, 0.5, 0.4})),
      spec("black_corner", "black_corner", one({1.10, 1.05, 1.00, 0.90, 0.95})), missing("characters")};
  r["retinamnist"] = {
      spec("pixelate", "pixelate", one({0.8, 0.60, 0.50, 0.40, 0.35})),
      spec("jpeg_compression", "jpeg", one({30, 25, 20, 10, 5})),
      spec("gaussian_noise", "gaussian_noise", one({0.04, 0.08, 0.12, 0.16, 0.20})),
      spec("speckle_noise", "speckle_noise", one({0.10, 0.15, 0.20, 0.25, 0.30})),
      spec("defocus_blur", "defocus_blur", {{4, 0.1}, {5, 0.2}, {6, 0.3}, {7, 0.4}, {8, 0.5}, {9, 0.6}}),
      spec("motion_blur", "motion_blur", {{8, 5}, {15, 5}, {15, 8}, {15, 12}, {20, 15}}),
      spec("brightness_down", "brightness", one({0.9, 0.8, 0.7, 0.6, 0.5})),
      spec("contrast_down", "contrast", one({0.9, 0.8, 0.7, 0.6, 0.4}))};
  r["tissuemnist"] = {spec("pixelate", "pixelate", one({0.40, 0.30, 0.20, 0.15, 0.10})),
                      spec("jpeg_compression", "jpeg", one({25, 20, 15, 10, 7})),
                      spec("impulse_noise", "impulse_noise", one({0.01, 0.015, 0.02, 0.025, 0.03})),
                      spec("gaussian_blur", "gaussian_blur", one({13, 15, 17, 21, 25})),
                      spec("brightness_up", "brightness", one({1.3, 1.4, 1.5, 1.6, 1.7})),
                      spec("brightness_down", "brightness", one({0.8, 0.7, 0.6, 0.5, 0.4})),
                      spec("contrast_up", "contrast", one({1.1, 1.2, 1.3, 1.4, 1.6})),
                      spec("contrast_down", "contrast", one({0.9, 0.8, 0.7, 0.6, 0.4}))};
  r["octmnist"] = {
      spec("pixelate", "pixelate", one({0.30, 0.25, 0.20, 0.15, 0.10})),
      spec("jpeg_compression", "jpeg", one({30, 15, 10, 7, 5})),
      spec("speckle_noise", "speckle_noise", one({0.15, 0.30, 0.40, 0.50, 0.60})),
      spec("defocus_blur", "defocus_blur", {{0.5, 0.6}, {1, 0.5}, {1.5, 0.1}, {2.0, 0.5}, {2.5, 0.1}}),
      spec("motion_blur", "motion_blur", {{10, 3}, {15, 5}, {15, 8}, {15, 12}, {20, 15}}),
      spec("contrast_down", "contrast", one({0.6, 0.4, 0.3, 0.2, 0.15}))};
  r["breastmnist"] = {spec("pixelate", "pixelate", one({0.30, 0.25, 0.20, 0.15, 0.10})),
                      spec("jpeg_compression", "jpeg", one({50, 30, 15, 10, 7})),
                      spec("speckle_noise", "speckle_noise", one({0.10, 0.15, 0.20, 0.25, 0.30})),
                      spec("motion_blur", "motion_blur", {{5, 5}, {9, 7}, {9, 10}, {13, 10}, {17, 12}}),
                      spec("brightness_up", "brightness", one({1.4, 1.5, 1.6, 1.8, 2.0})),
                      spec("brightness_down", "brightness", one({0.55, 0.5, 0.45, 0.4, 0.3})),
                      spec("contrast_down", "contrast", one({0.9, 0.8, 0.7, 0.6, 0.4}))};
  const auto chest_like = [](Params gauss, Params speckle, Params impulse, Params shot, Params pixelate) {
    return std::vector<CorruptionSpec>{spec("pixelate", "pixelate", std::move(pixelate)),
                                       spec("jpeg_compression", "jpeg", one({50, 30, 15, 10, 7})),
                                       spec("gaussian_noise", "gaussian_noise", std::move(gauss)),
                                       spec("speckle_noise", "speckle_noise", std::move(speckle)),
                                       spec("impulse_noise", "impulse_noise", std::move(impulse)),
                                       spec("shot_noise", "shot_noise", std::move(shot)),
                                       spec("gaussian_blur", "gaussian_blur", one({3, 5, 7, 9, 11})),
                                       spec("brightness_up", "brightness", one({1.1, 1.2, 1.3, 1.4, 1.5})),
                                       spec("brightness_down", "brightness", one({0.9, 0.8, 0.7, 0.6, 0.5})),
                                       spec("contrast_up", "contrast", one({1.1, 1.2, 1.3, 1.4, 1.6})),
                                       spec("contrast_down", "contrast", one({0.9, 0.8, 0.7, 0.6, 0.4})),
                                       spec("gamma_corr_up", "gamma", one({1.1, 1.2, 1.3, 1.4, 1.6})),
                                       spec("gamma_corr_down", "gamma", one({0.9, 0.8, 0.7, 0.6, 0.4}))};
  };
  r["chestmnist"] = chest_like(one({0.04, .08, .12, 0.18, 0.26}), one({0.05, 0.15, 0.2, 0.35, 0.45}),
                               one({0.01, 0.03, 0.06, 0.09, 0.17}), one({60, 25, 18, 10, 5}),
                               one({0.30, 0.25, 0.20, 0.15, 0.10}));
  r["pneumoniamnist"] = chest_like(one({0.04, 0.05, 0.06, 0.07, 0.08}), one({0.05, 0.07, 0.10, 0.15, 0.20}),
                                   one({0.005, 0.01, 0.013, 0.017, 0.02}), one({300, 200, 150, 100, 80}),
                                   one({0.8, 0.7, 0.6, 0.5, 0.40}));
  r["organamnist"] = organ();
  r["organcmnist"] = organ();
  r["organsmnist"] = organ();
  return r;
}

// The torchvision kernel size of a Gaussian blur at side S: the odd size nearest k S / 224, at least 3.
int scaled_kernel(double k, int side) {
  const double v = k * side / 224.0;
  return std::max(3, 2 * static_cast<int>(std::lround((v - 1) / 2)) + 1);
}

}  // namespace

const std::vector<CorruptionSpec>& medmnistc_corruptions(const std::string& flag) {
  static const std::map<std::string, std::vector<CorruptionSpec>> table = registry();
  static const std::vector<CorruptionSpec> none;
  const auto it = table.find(flag);
  return it == table.end() ? none : it->second;
}

std::vector<double> parameters_at(const CorruptionSpec& c, int severity, int side) {
  MN_CHECK(severity >= 1 && severity <= 5, c.name, ": severity ", severity, " is outside 1..5");
  std::vector<double> p = c.severities[static_cast<size_t>(severity - 1)];
  if (c.kind == "volume_blur") {
    p[0] *= side / 28.0;  // sigma
  } else if (c.kind == "volume_motion") {
    p[1] *= side / 28.0;  // translation
  }
  const double s = side / 224.0;
  if (c.kind == "defocus_blur" || c.kind == "motion_blur") {
    for (double& v : p) v *= s;  // radius and alias blur; radius and sigma
  } else if (c.kind == "gaussian_blur") {
    p = {static_cast<double>(scaled_kernel(p[0], side)), default_gaussian_sigma(static_cast<int>(p[0])) * s};
  }
  return p;
}

std::string scale_rule(bool volumes) {
  if (volumes)
    return "The 3D severities are defined on 28-voxel volumes. At side S the blur sigma and the motion "
           "translation are multiplied by S / 28; rotations, the anisotropy factor, noise, bias-field, "
           "ghosting, spike and gamma levels are kept.";
  return "MedMNIST-C defines its parameters on 224-px pictures. At side S: the defocus radius and alias "
         "blur, the motion-blur radius and sigma, and the Gaussian-blur sigma (torchvision's 0.15 k + 0.35 "
         "for the registry's kernel k) are multiplied by S / 224, the Gaussian kernel becomes the odd size "
         "nearest k S / 224 (at least 3); the pixelate factor is already a fraction of the side and is "
         "kept; the zoom-blur factors and the black-corner radius (a multiple of the half side) are relative "
         "and kept; bubble radii are drawn from 3 to the registry's maximum in 224-px units and multiplied "
         "by "
         "S / 224 (rounded, at least 1 px), their 2-px border likewise (rounded), their count is kept; "
         "noise levels, JPEG quality, brightness, contrast, saturation and gamma act per pixel and are kept.";
}

at::Tensor corrupt(const CorruptionSpec& c, int severity, const at::Tensor& img, uint64_t seed) {
  MN_CHECK(c.implemented, c.name, ": this MedMNIST-C corruption is not computed by mednet");
  if (img.dim() == 4) {
    MN_CHECK(img.scalar_type() == torch::kUInt8, c.name, ": expected a uint8 volume, got ",
             img.scalar_type());
    const at::Tensor unit = img.to(torch::kDouble) / 255.0;
    return (corrupt_volume(c, severity, unit, seed).clamp(0, 1) * 255).round().to(torch::kUInt8);
  }
  const std::vector<double> p = parameters_at(c, severity, static_cast<int>(img.size(-1)));
  if (c.kind == "pixelate") return pixelate(img, p[0]);
  if (c.kind == "jpeg") return jpeg_compression(img, static_cast<int>(p[0]));
  if (c.kind == "gaussian_noise") return gaussian_noise(img, p[0], seed);
  if (c.kind == "speckle_noise") return speckle_noise(img, p[0], seed);
  if (c.kind == "impulse_noise") return impulse_noise(img, p[0], seed);
  if (c.kind == "shot_noise") return shot_noise(img, p[0], seed);
  if (c.kind == "defocus_blur") return defocus_blur(img, p[0], p[1]);
  if (c.kind == "motion_blur") {
    at::Generator gen = at::detail::createCPUGenerator(seed);
    const double angle = at::rand({1}, gen, torch::kDouble).item<double>() * 90.0 - 45.0;
    return motion_blur(img, p[0], p[1], angle);
  }
  if (c.kind == "gaussian_blur") return gaussian_blur(img, static_cast<int>(p[0]), p[1]);
  if (c.kind == "brightness") return brightness(img, p[0]);
  if (c.kind == "contrast") return contrast(img, p[0]);
  if (c.kind == "gamma") return gamma_correction(img, p[0]);
  if (c.kind == "saturate") return saturate(img, p[0]);
  if (c.kind == "zoom_blur") return zoom_blur(img, numpy_arange(p[0], p[1], p[2]));
  if (c.kind == "black_corner") return black_corner(img, p[0]);
  if (c.kind == "bubble") {
    const int side = static_cast<int>(img.size(-1));
    return bubble(img, draw_bubbles(side, static_cast<int>(p[0]), static_cast<int>(p[1]), seed),
                  bubble_border(side));
  }
  MN_CHECK(false, c.name, ": unknown corruption kind '", c.kind, "'");
  return {};
}

}  // namespace mednet::augment
