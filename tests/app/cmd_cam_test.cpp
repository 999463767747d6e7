// mednet cam as a user runs it.
#include <torch/torch.h>

#include "app/cli_fixture.h"
#include "mednet/data/npy.h"

using namespace mednet::testing;
namespace fs = std::filesystem;

namespace {

TEST_F(Cli, CamOnTrained2DAnd3DRunsWritesMapsPicturesAndFaithfulness) {
  const std::string root = fake_medmnist_root("nodulemnist3d", 64, 16, 16);
  write_fake_medmnist(root + "/retinamnist.npz", "retinamnist", 80, 20, 20);
  const std::string common = " --root " + root + " --threads 2 --device cpu --skip-md5";
  for (const std::string flag : {"nodulemnist3d", "retinamnist"}) {
    const std::string run = home_ + "/run_" + flag, out = home_ + "/cam_" + flag;
    auto [rc, text] =
        mednet("train --dataset " + flag + " --widths 4,8 --epochs 3 --out " + run + common, home_);
    ASSERT_EQ(rc, 0) << text;
    std::tie(rc, text) =
        mednet("cam --run " + run + " --samples 4 --method gradcampp --out " + out + common, home_);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_TRUE(contains(text, "model randomisation")) << text;
    EXPECT_TRUE(contains(text, "area under the curve")) << text;
    const at::Tensor maps = mednet::data::load_npy(out + "/heatmaps.npy");
    const bool is3d = flag == "nodulemnist3d";
    EXPECT_EQ(maps.sizes(), is3d ? std::vector<int64_t>({4, 28, 28, 28}) : std::vector<int64_t>({4, 28, 28}));
    EXPECT_GE(maps.min().item<float>(), 0.0f);
    EXPECT_LE(maps.max().item<float>(), 1.0f);
    const auto j = nlohmann::json::parse(read_file(out + "/cam.json"));
    EXPECT_EQ(j["samples"].size(), 4u);
    EXPECT_EQ(j["layer"], "stage2");
    EXPECT_EQ(j["deletion"]["by_map"].size(), 6u);
    if (report_available(text)) {
      const std::string png = out + (is3d ? "/cam_planes.png" : "/cam_grid.png");
      // 2D: 3 tiles per sample, 6 columns -> 2 rows of 224-px tiles; 3D: 3 planes per sample -> 2 rows
      EXPECT_EQ(png_size(png).second, 34 + 2 * (224 + 30 + 8) + 8) << png;
      EXPECT_GT(png_size(out + "/deletion.png").first, 0);
    }
  }
  const std::string run = home_ + "/run_retinamnist";
  auto [rc, text] = mednet("cam --run " + run + " --layer stage7 --out " + home_ + "/x" + common, home_);
  EXPECT_EQ(rc, 2) << text;
  EXPECT_TRUE(contains(text, "valid: stage1, stage2")) << text;
  expect_usage_error("cam --run " + run + " --target 9 --out " + home_ + "/x" + common, "class index 0..4");
  std::tie(rc, text) =
      mednet("cam --run " + run + " --target 3 --samples 2 --out " + home_ + "/t3" + common, home_);
  ASSERT_EQ(rc, 0) << text;
  const auto t3 = nlohmann::json::parse(read_file(home_ + "/t3/cam.json"));
  for (const auto& sample : t3["samples"]) EXPECT_EQ(sample["target"], 3);
  expect_usage_error("cam --run " + home_ + "/nothing --out " + home_ + "/x" + common, "not a run directory");
}

}  // namespace
