#pragma once
// NIfTI-1 and NIfTI-2 volumes (.nii, .nii.gz) through Debian's libnifti2, optional at configure time.
// A volume is read with its grid geometry (sform, qform, voxel sizes) so that a map computed on it
// can be written back on the same grid; reader and writer live together and are tested as a round
// trip and against nibabel.
#include <array>
#include <string>

#include <ATen/core/Tensor.h>

namespace mednet::data {

/// Where the voxels sit in the world: both NIfTI transforms and the voxel sizes, as the file has them.
struct NiftiGeometry {
  int qform_code = 0, sform_code = 0;
  std::array<double, 16> sform{};  ///< row-major 4x4, voxel (i, j, k, 1) to world
  double quatern_b = 0, quatern_c = 0, quatern_d = 0, qoffset_x = 0, qoffset_y = 0, qoffset_z = 0, qfac = 1;
  std::array<double, 3> spacing{1, 1, 1};  ///< dx, dy, dz
  int xyz_units = 0;
};

struct NiftiVolume {
  at::Tensor data;  ///< float32 [nz, ny, nx] (x varies fastest, as stored), scl_slope/scl_inter applied
  NiftiGeometry geometry;
  /// The affine a viewer uses: the sform when its code is set, else the qform, else the voxel sizes.
  std::array<double, 16> affine{};
};

/// True when this build reads and writes NIfTI (libnifti2 was found at configure time).
bool nifti_available();

/// Reads a 3D volume (a 4D file must have one time point). A damaged, truncated or unsupported file
/// is an error naming it.
NiftiVolume read_nifti(const std::string& path);

/// Writes a float32 [nz, ny, nx] volume with the given geometry as .nii or .nii.gz (by the name),
/// through a temporary file and a rename. description goes into the header's descrip (79 chars).
void write_nifti(const std::string& path, const at::Tensor& data, const NiftiGeometry& geometry,
                 const std::string& description = "");

}  // namespace mednet::data
