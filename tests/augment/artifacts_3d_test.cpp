// augment/artifacts_3d and the 3D half of corruption_registry: each CT/MRI artifact, with the values the
// registry drew, against an independent NumPy/SciPy implementation of TorchIO's definitions
// (tests/scripts/artifacts_reference.py) on a fixed two-channel volume.
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/augment/artifacts_3d.h"
#include "mednet/augment/corruption_registry.h"
#include "mednet/core/error.h"
#include "mednet/data/npy.h"
#include "support/fixtures.h"

using namespace mednet;

namespace {

// A bright ellipsoid with texture on a dark background, in [0, 1]: edges, flat areas and fine detail.
at::Tensor fixture_volume(int64_t c, int64_t side) {
  torch::manual_seed(5);
  const at::Tensor r = torch::linspace(-1, 1, side);
  const at::Tensor z = r.view({side, 1, 1}), y = r.view({1, side, 1}), x = r.view({1, 1, side});
  std::vector<at::Tensor> chans;
  for (int64_t ch = 0; ch < c; ++ch) {
    const at::Tensor inside = (z * z / 0.6 + y * y / 0.8 + x * x / 0.5) < 1;
    at::Tensor v = 0.15 + 0.5 * inside.to(torch::kFloat) + 0.1 * torch::sin(6.0 * x * (ch + 1) + 4.0 * z) +
                   0.05 * torch::rand({side, side, side});
    chans.push_back(v.clamp(0, 1));
  }
  return torch::stack(chans).to(torch::kDouble);
}

void check_artifacts(const at::Tensor& vol, const std::string& tag) {
  const std::string dir = mednet::testing::temp_dir("artifacts_" + tag);
  data::save_npy(dir + "/volume.npy", vol);
  nlohmann::json cases = nlohmann::json::array();
  std::vector<at::Tensor> mine;
  std::vector<std::string> names;
  uint64_t seed = 40;
  const int side = static_cast<int>(vol.size(-1));
  for (const augment::CorruptionSpec& c : augment::volume_artifacts())
    for (int s : {1, 3, 5}) {
      std::vector<double> drawn;
      mine.push_back(augment::corrupt_volume(c, s, vol, seed, &drawn));
      cases.push_back({{"kind", c.kind},
                       {"params", augment::parameters_at(c, s, side)},
                       {"drawn", drawn},
                       {"seed", seed}});
      names.push_back(c.name + " s" + std::to_string(s));
      ++seed;
    }
  std::ofstream(dir + "/cases.json") << cases.dump();
  const auto [rc, out] = mednet::testing::run_command("/usr/bin/python3 " MEDNET_SOURCE_DIR
                                                      "/tests/scripts/artifacts_reference.py " +
                                                      dir + "/volume.npy " + dir + "/cases.json " + dir);
  if (rc != 0 && out.find("No module named") != std::string::npos)
    GTEST_SKIP() << "SKIPPED: python3-numpy, python3-scipy or python3-torch is missing: " << out;
  ASSERT_EQ(rc, 0) << out;
  for (size_t i = 0; i < mine.size(); ++i) {
    const at::Tensor ref = data::load_npy(dir + "/case" + std::to_string(i) + ".npy");
    ASSERT_EQ(mine[i].sizes(), ref.sizes()) << names[i];
    const at::Tensor diff = (mine[i] - ref).abs();
    EXPECT_LT(diff.mean().item<double>(), 1e-4) << tag << " " << names[i];  // of the [0, 1] range
    EXPECT_LT(diff.max().item<double>(), 1e-3) << tag << " " << names[i];
    if (names[i].back() != '1')  // severity 1 of a blur on a small volume is slight
      EXPECT_GT((mine[i] - vol).abs().mean().item<double>(), 1e-4)
          << tag << " " << names[i] << " changed nothing";
  }
}

}  // namespace

TEST(Artifacts3d, MatchTorchioDefinitionsAt28Voxels) {
  check_artifacts(fixture_volume(2, 28), "28");
}

TEST(Artifacts3d, MatchTorchioDefinitionsOnAnOddSide) {
  check_artifacts(fixture_volume(1, 17), "17");
}

TEST(Artifacts3d, EightArtifactsWithFiveSeveritiesAndSeededDraws) {
  const auto& list = augment::volume_artifacts();
  ASSERT_EQ(list.size(), 8u);
  for (const auto& c : list) EXPECT_EQ(c.severities.size(), 5u) << c.name;
  EXPECT_EQ(augment::parameters_at(list[1], 5, 64),
            (std::vector<double>{1.5 * 64 / 28.0}));  // blur sigma scales
  EXPECT_EQ(augment::parameters_at(list[6], 5, 64),
            (std::vector<double>{5}));  // the anisotropy factor does not
  const at::Tensor u8 = (fixture_volume(1, 12) * 255).round().to(torch::kUInt8);
  for (const auto& c : list) {
    const at::Tensor a = augment::corrupt(c, 4, u8, 3), b = augment::corrupt(c, 4, u8, 3);
    EXPECT_EQ(a.scalar_type(), torch::kUInt8) << c.name;
    EXPECT_EQ(a.sizes(), u8.sizes()) << c.name;
    EXPECT_TRUE(torch::equal(a, b)) << c.name;
  }
  EXPECT_FALSE(torch::equal(augment::corrupt(list[0], 4, u8, 3), augment::corrupt(list[0], 4, u8, 4)));
}

TEST(Artifacts3d, KnownCases) {
  const at::Tensor v = fixture_volume(1, 8);
  // ghosting of intensity 0 and a spike of intensity 0 leave the volume; a bias field of zeros too
  EXPECT_TRUE(torch::allclose(augment::volume_ghosting(v, 4, 1, 0), v));
  EXPECT_TRUE(torch::allclose(augment::volume_spike(v, {{0.1, 0.2, 0.3}}, 0), v));
  EXPECT_TRUE(torch::allclose(augment::volume_bias_field(v, std::vector<double>(20, 0.0), 3), v));
  // a motion with no rotation or translation is no motion; an anisotropy factor of 1 keeps every voxel
  EXPECT_TRUE(torch::allclose(augment::volume_motion(v, {augment::RigidMotion{{0, 0, 0}, {0, 0, 0}, 0.4}}, 2),
                              v, 1e-9, 1e-9));
  EXPECT_TRUE(torch::allclose(augment::volume_anisotropy(v, 0, 1.0), v));
  EXPECT_THROW(augment::volume_bias_field(v, {1.0, 2.0}, 3), Error);
  EXPECT_THROW(augment::volume_ghosting(v, 4, 3, 0.5), Error);
  EXPECT_THROW(augment::volume_blur(torch::zeros({8, 8, 8}), 1.0), Error);
}
