// mednet augment as a user runs it.
#include "app/cli_fixture.h"

using namespace mednet::testing;
namespace fs = std::filesystem;

namespace {

TEST_F(Cli, AugmentWritesAGridOfOriginalsAndAugmentedImages) {
  const std::string root = fake_medmnist_root("chestmnist", 8, 4, 4);
  write_fake_medmnist(root + "/nodulemnist3d.npz", "nodulemnist3d", 4, 2, 2);
  const std::string png = home_ + "/grid.png";
  auto [rc, text] = mednet(
      "augment --dataset chestmnist --n 4 --scale 2 --root " + root + " --skip-md5 --out " + png, home_);
  if (contains(text, "no image output")) GTEST_SKIP() << "built without cairo";
  ASSERT_EQ(rc, 0) << text;
  // 8 tiles of 56 px in one row of 8 columns: width 8 * (56 + 8) + 8 (or the title's, if wider),
  // height 34 + (56 + 30 + 8) + 8
  const auto [w, h] = png_size(png);
  EXPECT_GE(w, 520);
  EXPECT_EQ(h, 136);
  std::tie(rc, text) =
      mednet("augment --dataset nodulemnist3d --n 2 --root " + root + " --skip-md5 --out " + png, home_);
  ASSERT_EQ(rc, 0) << text;
  EXPECT_TRUE(contains(text, "middle slice per axis")) << text;
  const std::string bad = home_ + "/bad.json";
  std::ofstream(bad) << R"({"dataset": "chestmnist", "augment": [{"type": "flip", "axes": [2]}]})";
  expect_usage_error("augment --config " + bad + " --root " + root + " --skip-md5 --out " + png,
                     "axis 2 does not exist");
}

}  // namespace
