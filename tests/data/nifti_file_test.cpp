// NIfTI volumes: mednet's writer and reader as a round trip, and both against nibabel (an independent
// implementation): voxel order, intensity scaling, the affine, and damaged files.
#include "mednet/data/nifti_file.h"

#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "support/fixtures.h"

namespace md = mednet::data;
namespace tf = mednet::testing;

namespace {

const std::string kScript = "/usr/bin/python3 " MEDNET_SOURCE_DIR "/tests/scripts/nifti_reference.py ";

std::string nifti_error(const std::string& path) {
  try {
    md::read_nifti(path);
  } catch (const mednet::Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(Nifti, RoundTripKeepsVoxelsAndGeometry) {
  if (!md::nifti_available()) GTEST_SKIP() << "built without libnifti2";
  const std::string dir = tf::temp_dir("nifti-rt");
  const at::Tensor data = torch::rand({5, 6, 7});
  md::NiftiGeometry g;
  g.sform_code = 2;
  g.sform = {0, -1.5, 0, 10, 2, 0, 0, -20, 0, 0, 2.5, 30, 0, 0, 0, 1};
  g.qform_code = 1;
  g.quatern_b = 0.5;
  g.quatern_c = 0.5;
  g.quatern_d = 0.5;
  g.qoffset_x = 1;
  g.qoffset_y = 2;
  g.qoffset_z = 3;
  g.spacing = {2, 1.5, 2.5};
  for (const std::string name : {"v.nii", "v.nii.gz"}) {
    md::write_nifti(dir + "/" + name, data, g, "round trip");
    const md::NiftiVolume v = md::read_nifti(dir + "/" + name);
    EXPECT_TRUE(torch::equal(v.data, data)) << name;
    EXPECT_EQ(v.geometry.sform_code, 2);
    EXPECT_EQ(v.geometry.qform_code, 1);
    for (size_t i = 0; i < 16; ++i) EXPECT_NEAR(v.affine[i], g.sform[i], 1e-6) << name << " " << i;
    EXPECT_NEAR(v.geometry.qoffset_z, 3, 1e-6);
    EXPECT_NEAR(v.geometry.spacing[1], 1.5, 1e-6);
  }
  EXPECT_THROW(md::write_nifti(dir + "/v.img", data, g), mednet::Error);
}

TEST(Nifti, ReadsWhatNibabelWritesAndNibabelReadsWhatItWrites) {
  if (!md::nifti_available()) GTEST_SKIP() << "built without libnifti2";
  const std::string dir = tf::temp_dir("nifti-nib");
  ASSERT_EQ(tf::run_command(kScript + "write " + dir + "/ref.nii.gz").first, 0);
  const md::NiftiVolume v = md::read_nifti(dir + "/ref.nii.gz");
  // Stored x fastest: data[z][y][x] = 2 (x + 10 y + 100 z) - 10.
  ASSERT_EQ(v.data.sizes(), (std::vector<int64_t>{5, 6, 7}));
  EXPECT_FLOAT_EQ(v.data[3][2][1].item<float>(), 2 * (1 + 20 + 300) - 10);
  EXPECT_FLOAT_EQ(v.data[4][5][6].item<float>(), 2 * (6 + 50 + 400) - 10);
  const std::array<double, 16> affine{0, -1.5, 0, 10, 2, 0, 0, -20, 0, 0, 2.5, 30, 0, 0, 0, 1};
  for (size_t i = 0; i < 16; ++i) EXPECT_NEAR(v.affine[i], affine[i], 1e-5) << i;

  // Written back on the same grid, nibabel sees the same voxels and affine.
  md::write_nifti(dir + "/back.nii.gz", v.data, v.geometry, "mednet test");
  const auto [rc, out] = tf::run_command(kScript + "read " + dir + "/back.nii.gz");
  ASSERT_EQ(rc, 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j.at("shape"), nlohmann::json({7, 6, 5}));
  EXPECT_DOUBLE_EQ(j.at("v123").get<double>(), 2 * (1 + 20 + 300) - 10);
  EXPECT_NEAR(j.at("sum").get<double>(), v.data.sum().item<double>(), 1e-3);
  for (size_t r = 0; r < 4; ++r)
    for (size_t c = 0; c < 4; ++c) EXPECT_NEAR(j.at("affine")[r][c].get<double>(), affine[r * 4 + c], 1e-5);
  EXPECT_EQ(j.at("descrip"), "mednet test");
}

TEST(Nifti, DamagedAndUnsupportedFilesAreNamed) {
  if (!md::nifti_available()) GTEST_SKIP() << "built without libnifti2";
  const std::string dir = tf::temp_dir("nifti-bad");
  ASSERT_EQ(tf::run_command(kScript + "write " + dir + "/ok.nii").first, 0);
  const std::string bytes = tf::read_file(dir + "/ok.nii");
  std::ofstream(dir + "/truncated.nii", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  std::ofstream(dir + "/garbage.nii", std::ios::binary) << std::string(400, 'x');
  ASSERT_EQ(tf::run_command(kScript + "write4d " + dir + "/four.nii").first, 0);
  EXPECT_NE(nifti_error(dir + "/truncated.nii").find("truncated.nii: not a readable NIfTI"),
            std::string::npos)
      << nifti_error(dir + "/truncated.nii");
  EXPECT_NE(nifti_error(dir + "/garbage.nii").find("garbage.nii: not a readable NIfTI"), std::string::npos);
  EXPECT_NE(nifti_error(dir + "/four.nii").find("one 3D volume expected"), std::string::npos)
      << nifti_error(dir + "/four.nii");
  EXPECT_NE(nifti_error(dir + "/none.nii").find("none.nii: no such file"), std::string::npos);
}
