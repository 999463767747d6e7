#pragma once
// MedMNIST-C's 2D corruptions (Di Salvo et al. 2024) as operations on one uint8 picture [C, H, W]
// (C = 1 or 3, on the CPU), each computed as the library MedMNIST-C calls computes it, its rounding
// included: PIL for pixelate (BOX resampling), brightness and contrast (ImageEnhance), libjpeg for JPEG,
// OpenCV for the defocus disk, ImageMagick for motion blur, NumPy formulas for the noises,
// torchvision for Gaussian blur and gamma. Parameters are in the units MedMNIST-C gives them (its
// registry, corruption_registry.h, scales the spatial ones to the picture's size). Random draws come
// from the seed, so one seed gives one picture.
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace mednet::augment {

/// PIL resize with the BOX filter to int(side * factor) per side, and back.
at::Tensor pixelate(const at::Tensor& img, double factor);
/// Baseline JPEG at the quality (data::encode_jpeg), decoded again.
at::Tensor jpeg_compression(const at::Tensor& img, int quality);
/// clip(x + N(0, sigma)) on [0, 1] pixels, truncated back to uint8.
at::Tensor gaussian_noise(const at::Tensor& img, double sigma, uint64_t seed);
/// clip(x + x N(0, sigma)).
at::Tensor speckle_noise(const at::Tensor& img, double sigma, uint64_t seed);
/// Each value set to 0 or 1 (even odds) with probability amount (scikit-image's salt and pepper).
at::Tensor impulse_noise(const at::Tensor& img, double amount, uint64_t seed);
/// clip(Poisson(x photons) / photons).
at::Tensor shot_noise(const at::Tensor& img, double photons, uint64_t seed);
/// Convolution with a disk of the radius, its edge softened by a 3x3 (radius over 8: 5x5) Gaussian of
/// sigma alias_blur; reflected borders (OpenCV's default).
at::Tensor defocus_blur(const at::Tensor& img, double radius, double alias_blur);
/// ImageMagick's one-sided motion blur: a half Gaussian of sigma over 2 ceil(radius) + 1 pixels along
/// the angle (degrees), edge pixels repeated outside.
at::Tensor motion_blur(const at::Tensor& img, double radius, double sigma, double angle);
/// torchvision's Gaussian blur with an odd kernel size and sigma, reflected borders, rounded.
at::Tensor gaussian_blur(const at::Tensor& img, int kernel_size, double sigma);
/// PIL ImageEnhance.Brightness: a blend with black.
at::Tensor brightness(const at::Tensor& img, double factor);
/// PIL ImageEnhance.Contrast: a blend with the picture's mean grey level.
at::Tensor contrast(const at::Tensor& img, double factor);
/// torchvision's adjust_gamma on a PIL picture: int(255.999 (x / 255)^gamma).
at::Tensor gamma_correction(const at::Tensor& img, double gamma);

// The corruptions of the microscopy and dermatoscopy sets (corruptions_microscopy.cpp):

/// scikit-image's HSV round trip with the saturation raised by amount (clipped to [0, 1]), truncated back to
/// uint8. A 1-channel picture has no saturation and comes back as it is.
at::Tensor saturate(const at::Tensor& img, double amount);
/// The mean of the picture and its centre zoomed by each factor (SciPy's order-1 zoom of the central
/// ceil(side / factor) square, trimmed to the side), in single precision as MedMNIST-C computes it.
at::Tensor zoom_blur(const at::Tensor& img, const std::vector<double>& factors);
/// The zoom factors of NumPy's arange(start, stop, step), value for value.
std::vector<double> numpy_arange(double start, double stop, double step);
/// Everything outside OpenCV's filled circle (8-connected, integer radius int(half side x multiplier))
/// about the centre set to black: a dermatoscope's dark corners.
at::Tensor black_corner(const at::Tensor& img, double multiplier);

/// One bubble: its radius and centre (column x, row y) in pixels.
struct Bubble {
  int radius = 0, x = 0, y = 0;
};
/// MedMNIST-C's bubbles: on a transparent white layer each bubble is a filled ellipse of alpha 130 over its
/// box grown by border, then one of alpha 100 over its box (Pillow's ellipse rasterizer, later bubbles
/// drawn over earlier ones), and the layer is pasted over the picture with its alpha, rounded as Pillow
/// rounds.
at::Tensor bubble(const at::Tensor& img, const std::vector<Bubble>& bubbles, int border);
/// MedMNIST-C's draws on a side x side picture, from the seed: 7 to max_count bubbles, each of a radius from
/// 3 to max_radius in 224-px units scaled by side / 224 (rounded, at least 1 px), its centre at least a
/// radius from the edges.
std::vector<Bubble> draw_bubbles(int side, int max_radius, int max_count, uint64_t seed);
/// The 2-px bubble border of MedMNIST-C at side px (2 side / 224, rounded).
int bubble_border(int side);

/// torchvision's sigma for a Gaussian blur of this kernel size when none is given.
double default_gaussian_sigma(int kernel_size);

namespace detail {
/// The picture as the corruptions take it: uint8 [1 or 3, H, W], on the CPU, contiguous; anything else is
/// an error naming what.
at::Tensor checked_picture(const at::Tensor& img, const char* what);
}  // namespace detail

}  // namespace mednet::augment
