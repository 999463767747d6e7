#include "mednet/data/nifti_file.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include <torch/torch.h>

#include "mednet/build_config.h"
#include "mednet/core/error.h"

#if MEDNET_HAVE_NIFTI
#include <nifti2_io.h>
#endif

namespace mednet::data {

#if MEDNET_HAVE_NIFTI

namespace {

struct NimFree {
  void operator()(nifti_image* p) const { nifti_image_free(p); }
};
using Nim = std::unique_ptr<nifti_image, NimFree>;

at::ScalarType torch_type(int datatype, const std::string& path) {
  switch (datatype) {
    case DT_UINT8:
      return at::kByte;
    case DT_INT8:
      return at::kChar;
    case DT_INT16:
      return at::kShort;
    case DT_INT32:
      return at::kInt;
    case DT_INT64:
      return at::kLong;
    case DT_FLOAT32:
      return at::kFloat;
    case DT_FLOAT64:
      return at::kDouble;
    default:
      break;
  }
  MN_CHECK(false, path, ": NIfTI datatype ", datatype, " (", nifti_datatype_string(datatype),
           ") is not read (uint8, int8, int16, int32, int64, float32 and float64 are)");
  return at::kFloat;
}

std::array<double, 16> to_array(const nifti_dmat44& m) {
  std::array<double, 16> a{};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) a[static_cast<size_t>(r * 4 + c)] = m.m[r][c];
  return a;
}

}  // namespace

bool nifti_available() {
  return true;
}

NiftiVolume read_nifti(const std::string& path) {
  MN_CHECK(std::filesystem::is_regular_file(path), path, ": no such file");
  nifti_set_debug_level(0);
  Nim nim(nifti_image_read(path.c_str(), 1));
  MN_CHECK(nim && nim->data, path, ": not a readable NIfTI file (damaged, truncated or not NIfTI)");
  for (int d = 4; d <= 7; ++d)
    MN_CHECK(nim->dim[0] < d || nim->dim[d] == 1, path, ": a NIfTI file of ", nim->dim[0],
             " dimensions with ", nim->dim[d], " entries along dimension ", d, " (one 3D volume expected)");
  const int64_t nx = nim->nx, ny = nim->dim[0] >= 2 ? nim->ny : 1, nz = nim->dim[0] >= 3 ? nim->nz : 1;
  MN_CHECK(nx >= 1 && ny >= 1 && nz >= 1 && nx * ny * nz == nim->nvox, path,
           ": inconsistent NIfTI dimensions ", nx, "x", ny, "x", nz, " for ", nim->nvox, " voxels");
  const at::ScalarType type = torch_type(nim->datatype, path);
  at::Tensor raw = torch::from_blob(nim->data, {nz, ny, nx}, type).clone();
  at::Tensor f = raw.to(at::kFloat);
  if (nim->scl_slope != 0 && std::isfinite(nim->scl_slope) && std::isfinite(nim->scl_inter) &&
      !(nim->scl_slope == 1 && nim->scl_inter == 0))
    f = f * static_cast<float>(nim->scl_slope) + static_cast<float>(nim->scl_inter);
  NiftiVolume v;
  v.data = f.contiguous();
  NiftiGeometry& g = v.geometry;
  g.qform_code = nim->qform_code;
  g.sform_code = nim->sform_code;
  g.sform = to_array(nim->sto_xyz);
  g.quatern_b = nim->quatern_b;
  g.quatern_c = nim->quatern_c;
  g.quatern_d = nim->quatern_d;
  g.qoffset_x = nim->qoffset_x;
  g.qoffset_y = nim->qoffset_y;
  g.qoffset_z = nim->qoffset_z;
  g.qfac = nim->qfac;
  g.spacing = {nim->dx, nim->dy, nim->dz};
  g.xyz_units = nim->xyz_units;
  if (g.sform_code > 0) {
    v.affine = g.sform;
  } else if (g.qform_code > 0) {
    v.affine = to_array(nim->qto_xyz);
  } else {
    v.affine = {nim->dx, 0, 0, 0, 0, nim->dy, 0, 0, 0, 0, nim->dz, 0, 0, 0, 0, 1};
  }
  return v;
}

void write_nifti(const std::string& path, const at::Tensor& data, const NiftiGeometry& g,
                 const std::string& description) {
  MN_CHECK(data.dim() == 3, path, ": a NIfTI volume is written from [nz, ny, nx], got ", data.dim(),
           " dimensions");
  const std::string name = std::filesystem::path(path).filename().string();
  const bool gz = name.size() > 7 && name.substr(name.size() - 7) == ".nii.gz";
  MN_CHECK(gz || (name.size() > 4 && name.substr(name.size() - 4) == ".nii"), path,
           ": a NIfTI file name ends in .nii or .nii.gz");
  const at::Tensor f = data.to(at::kFloat).contiguous();
  const int64_t dims[8] = {3, f.size(2), f.size(1), f.size(0), 1, 1, 1, 1};
  nifti_set_debug_level(0);
  Nim nim(nifti_make_new_nim(dims, DT_FLOAT32, 0));
  MN_CHECK(nim, path, ": could not make a NIfTI header");
  nim->nifti_type = NIFTI_FTYPE_NIFTI1_1;
  nim->dx = nim->pixdim[1] = g.spacing[0];
  nim->dy = nim->pixdim[2] = g.spacing[1];
  nim->dz = nim->pixdim[3] = g.spacing[2];
  nim->xyz_units = g.xyz_units;
  nim->qform_code = g.qform_code;
  nim->quatern_b = g.quatern_b;
  nim->quatern_c = g.quatern_c;
  nim->quatern_d = g.quatern_d;
  nim->qoffset_x = g.qoffset_x;
  nim->qoffset_y = g.qoffset_y;
  nim->qoffset_z = g.qoffset_z;
  nim->qfac = g.qfac;
  nim->sform_code = g.sform_code;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) nim->sto_xyz.m[r][c] = g.sform[static_cast<size_t>(r * 4 + c)];
  std::snprintf(nim->descrip, sizeof nim->descrip, "%s", description.c_str());
  const at::Tensor mm = f.max(), mn = f.min();
  nim->cal_min = mn.item<float>();
  nim->cal_max = mm.item<float>();
  // libnifti frees nim->data with the image: hand it a malloc'ed copy.
  nim->data = std::malloc(static_cast<size_t>(f.nbytes()));
  MN_CHECK(nim->data, path, ": out of memory for the volume");
  std::memcpy(nim->data, f.data_ptr(), static_cast<size_t>(f.nbytes()));
  const std::filesystem::path final_path(path);
  const std::string tmp =
      (final_path.parent_path() / ("." + name + ".tmp" + std::string(gz ? ".nii.gz" : ".nii"))).string();
  MN_CHECK(nifti_set_filenames(nim.get(), tmp.c_str(), 0, 1) == 0, path, ": bad NIfTI file name");
  nifti_image_write(nim.get());
  std::error_code ec;
  MN_CHECK(std::filesystem::is_regular_file(tmp) && std::filesystem::file_size(tmp, ec) > 0, path,
           ": the NIfTI file could not be written (is the folder writable and the disk not full?)");
  std::filesystem::rename(tmp, final_path, ec);
  MN_CHECK(!ec, path, ": could not rename the written file into place (", ec.message(), ")");
}

#else

bool nifti_available() {
  return false;
}

NiftiVolume read_nifti(const std::string& path) {
  MN_CHECK(false, path,
           ": this mednet was built without NIfTI support (libnifti2-dev was not found when it "
           "was configured; install it and rebuild)");
  return {};
}

void write_nifti(const std::string& path, const at::Tensor&, const NiftiGeometry&, const std::string&) {
  MN_CHECK(false, path,
           ": this mednet was built without NIfTI support (libnifti2-dev was not found when it "
           "was configured; install it and rebuild)");
}

#endif

}  // namespace mednet::data
