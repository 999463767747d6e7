#pragma once
// CT/MRI artifacts on a volume, as TorchIO defines them (Pérez-García et al. 2021; its RandomNoise,
// RandomBlur, RandomBiasField, RandomGhosting, RandomMotion, RandomSpike, RandomAnisotropy, RandomGamma),
// with every random choice made by the caller (artifact_registry.h draws them from a seed). Volumes are
// double [C, D, H, W] with intensities in [0, 1]; lengths are in voxels (MedMNIST volumes carry no
// spacing); each channel is processed alone. k-space is the centred 3D FFT (fftshift of fftn).
#include <array>
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace mednet::augment {

/// x + N(0, std), the noise drawn from the seed as [C, D, H, W] doubles.
at::Tensor volume_noise(const at::Tensor& vol, double std, uint64_t seed);
/// SciPy's gaussian_filter: a Gaussian of sigma per axis, truncated at 4 sigma, half-sample symmetric
/// borders.
at::Tensor volume_blur(const at::Tensor& vol, double sigma);
/// x exp(sum c_n X^a Y^b Z^c) over a + b + c <= order (coefficients in TorchIO's loop order), the
/// coordinates of voxel centres scaled to at most 1 on each axis.
at::Tensor volume_bias_field(const at::Tensor& vol, const std::vector<double>& coefficients, int order);
/// Every num_ghosts-th k-space plane along axis scaled by 1 - intensity, the central plane kept.
at::Tensor volume_ghosting(const at::Tensor& vol, int num_ghosts, int axis, double intensity);
/// k-space spikes: at floor(position * shape) the largest coefficient (by real part) times intensity is
/// added.
at::Tensor volume_spike(const at::Tensor& vol, const std::vector<std::array<double, 3>>& positions,
                        double intensity);

struct RigidMotion {
  std::array<double, 3> degrees{};      ///< rotation about each axis (Euler, Z X Y order as SimpleITK)
  std::array<double, 3> translation{};  ///< in voxels
  double time = 0;                      ///< in (0, 1): when in the acquisition it happens
};
/// Shaw et al. 2019 as TorchIO's Motion: the volume moved by each motion (trilinear, about index n / 2,
/// the minimum outside), their k-spaces joined in segments along axis at the motions' times, the still
/// volume's k-space moved to the segment that holds the centre.
at::Tensor volume_motion(const at::Tensor& vol, const std::vector<RigidMotion>& motions, int axis);
/// Sampled linearly every factor voxels along axis, then linearly back to the full grid (edge values kept).
at::Tensor volume_anisotropy(const at::Tensor& vol, int axis, double factor);
/// x^gamma (values are non-negative).
at::Tensor volume_gamma(const at::Tensor& vol, double gamma);

}  // namespace mednet::augment
