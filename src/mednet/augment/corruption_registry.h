#pragma once
// What a robustness check corrupts its test split with. 2D: MedMNIST-C's registry (Di Salvo et al. 2024,
// medmnistc/corruptions/registry.py): for each 2D MedMNIST dataset, its corruptions and their five
// severities, in the units MedMNIST-C defines on 224-px pictures; on a picture of another side S the
// spatial parameters scale by S / 224. 3D: TorchIO's CT/MRI artifacts (artifacts_3d.h) with five
// severities each, defined on 28-voxel volumes and scaled by S / 28 where spatial (MedMNIST-C has no 3D
// set; the severities are mednet's). scale_rule() says which parameters scale. corrupt() applies one
// severity with a seed, so a (corruption, severity, picture, seed) gives one picture every time.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace mednet::augment {

struct CorruptionSpec {
  std::string name;  ///< as MedMNIST-C names it: "pixelate", "brightness_down", ...
  std::string kind;  ///< the operation (corruptions.h): pixelate, jpeg, gaussian_noise, ..., contrast
  std::vector<std::vector<double>> severities;  ///< five parameter lists (224 px, 28 voxels), mildest first
  bool implemented = true;  ///< false: a corruption mednet does not compute (microscopy stains, ...)
};

/// The corruptions of a 2D dataset flag, in the registry's order; empty for datasets MedMNIST-C does
/// not cover (the 3D ones).
const std::vector<CorruptionSpec>& medmnistc_corruptions(const std::string& flag);

/// The CT/MRI artifacts of every 3D dataset: noise, blur, bias field, ghosting, motion, spike,
/// anisotropy, gamma.
const std::vector<CorruptionSpec>& volume_artifacts();

/// The parameters of severity 1..5 for a picture or volume of the given side (spatial ones scaled).
std::vector<double> parameters_at(const CorruptionSpec& c, int severity, int side);

/// How the parameters are taken to another side: for the 2D registry (volumes = false) or the 3D one.
std::string scale_rule(bool volumes = false);

/// Severity 1..5 of c on a uint8 picture [C, H, W] or volume [C, D, H, W], its random draws from seed
/// (2D: the noises; motion blur's angle, uniform in [-45, 45] degrees as MedMNIST-C draws it. 3D: see
/// corrupt_volume). A volume's artifact is computed on [0, 1] doubles and rounded back to uint8.
at::Tensor corrupt(const CorruptionSpec& c, int severity, const at::Tensor& img, uint64_t seed);

/// The 3D artifact on [0, 1] doubles [C, D, H, W] before rounding, with the draws TorchIO makes: noise
/// from the seed; bias-field coefficients uniform in [-c, c]; the ghosting, motion and anisotropy axis
/// uniform over 0..2; motion's rotations and translations uniform in [-d, d] and [-t, t] per axis at
/// times i / (n + 1) moved by up to 0.3 / (n + 1); spike positions uniform in the k-space cube; the
/// gamma exponent exp(+-b), either sign. `drawn` (optional) receives what was drawn, for the record.
at::Tensor corrupt_volume(const CorruptionSpec& c, int severity, const at::Tensor& unit, uint64_t seed,
                          std::vector<double>* drawn = nullptr);

}  // namespace mednet::augment
