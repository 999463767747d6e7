#pragma once
// A person's own images and volumes brought to what a model was trained on, the way the training data
// was made: channel count by gray/RGB conversion, size by resizing, intensities to 0..255. Each step
// taken is named, so a command can print the conversion.
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "mednet/data/catalog.h"
#include "mednet/data/nifti_file.h"

namespace mednet::data {

/// Extensions read_input accepts: .png, .jpg, .jpeg, .npy, .nii, .nii.gz (any case).
bool is_input_file(const std::string& path);

/// The file name without its input extension: "dir/scan.nii.gz" -> "scan".
std::string input_stem(const std::string& path);

/// One file as a tensor [C, H, W] (spatial_dims 2) or [C, D, H, W] (3): PNG/JPEG as uint8; .npy as
/// stored ([H, W], [H, W, C] or [C, H, W] for 2D; [D, H, W] or [C, D, H, W] for 3D); NIfTI as float
/// [1, nz, ny, nx] (a single-slice NIfTI is a 2D input). A file of the other dimensionality, an
/// unknown extension or a damaged file is an error naming it.
at::Tensor read_input(const std::string& path, int spatial_dims);

/// read_input, with the grid geometry of a NIfTI input (so a map can be written on its grid).
struct InputFile {
  at::Tensor data;
  std::optional<NiftiGeometry> geometry;
};
InputFile read_input_file(const std::string& path, int spatial_dims);

struct Conformed {
  at::Tensor image;                ///< uint8 [C, S, S] or [C, S, S, S], as a split's row
  std::vector<std::string> steps;  ///< "RGB to gray (ITU-R 601 luma)", "resized 64x64 to 28x28 (area)", ...
};

/// Intensities to uint8 0..255 as the MedMNIST files hold them: uint8 as it is; floats in 0..1 scaled
/// by 255, in 0..255 kept, otherwise the minimum and maximum stretched to 0..255. The rule taken is
/// appended to steps (when given). NaN or infinite values are an error.
at::Tensor to_uint8_range(const at::Tensor& input, std::vector<std::string>* steps = nullptr);

/// Brings an input to the dataset's channels and the given size.
Conformed conform(const at::Tensor& input, const DatasetInfo& info, int size);

/// What conform did, for a person: its steps, or the one line "none (already 28 px, 3 channels, uint8)".
std::vector<std::string> conversion_lines(const Conformed& c, const DatasetInfo& info, int size);

}  // namespace mednet::data
