#include "mednet/data/user_input.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/image_file.h"
#include "mednet/data/npy.h"
#include "support/fixtures.h"

namespace md = mednet::data;

TEST(UserInput, ConformsChannelsSizeAndIntensity) {
  const auto& retina = md::find_dataset("retinamnist");  // RGB, 2D
  const auto& breast = md::find_dataset("breastmnist");  // gray, 2D
  const auto& adrenal = md::find_dataset("adrenalmnist3d");
  // Already right: nothing is done.
  const at::Tensor rgb28 = torch::randint(0, 256, {3, 28, 28}, torch::kUInt8);
  const md::Conformed same = md::conform(rgb28, retina, 28);
  EXPECT_TRUE(same.steps.empty());
  EXPECT_TRUE(torch::equal(same.image, rgb28));
  // RGB to gray with the luma weights.
  const at::Tensor px =
      torch::tensor({100, 50, 200}, torch::kUInt8).view({3, 1, 1}).expand({3, 28, 28}).contiguous();
  const md::Conformed g = md::conform(px, breast, 28);
  ASSERT_EQ(g.image.sizes(), (std::vector<int64_t>{1, 28, 28}));
  EXPECT_EQ(g.image[0][0][0].item<int>(), 82);  // round(0.299*100 + 0.587*50 + 0.114*200) = 82
  EXPECT_EQ(g.steps, (std::vector<std::string>{"RGB to gray (ITU-R 601 luma)"}));
  // Gray to RGB, and a 56-px picture shrunk by area: a 2x2 block's mean.
  at::Tensor big = torch::zeros({1, 56, 56}, torch::kUInt8);
  big.index_put_({0, 0, 0}, 100);
  big.index_put_({0, 0, 1}, 200);
  const md::Conformed r = md::conform(big, retina, 28);
  ASSERT_EQ(r.image.sizes(), (std::vector<int64_t>{3, 28, 28}));
  EXPECT_EQ(r.image[2][0][0].item<int>(), 75);  // (100 + 200 + 0 + 0) / 4
  EXPECT_EQ(r.steps.size(), 2u);
  EXPECT_EQ(r.steps[1], "resized 56x56 to 28x28 (area)");
  // Float volumes: 0..1 scaled to 0..255; enlarged by trilinear interpolation.
  const md::Conformed v = md::conform(torch::full({1, 14, 14, 14}, 0.5), adrenal, 28);
  ASSERT_EQ(v.image.sizes(), (std::vector<int64_t>{1, 28, 28, 28}));
  EXPECT_EQ(v.image[0][5][5][5].item<int>(), 128);
  EXPECT_EQ(v.steps[0], "scaled 0..1 to 0..255");
  EXPECT_NE(v.steps[1].find("(trilinear)"), std::string::npos);
  // Wrong dimensionality and channel counts are errors.
  EXPECT_THROW(md::conform(rgb28, adrenal, 28), mednet::Error);
  EXPECT_THROW(md::conform(torch::zeros({2, 28, 28}, torch::kUInt8), retina, 28), mednet::Error);
  EXPECT_THROW(md::conform(torch::full({1, 28, 28}, NAN), breast, 28), mednet::Error);
}

TEST(UserInput, ReadsFilesByExtensionAndRefusesTheOtherDimensionality) {
  const std::string dir = mednet::testing::temp_dir("user_input");
  md::write_png(dir + "/a.png", torch::zeros({3, 28, 28}, torch::kUInt8));
  md::save_npy(dir + "/hwc.npy", torch::zeros({28, 28, 3}, torch::kUInt8));
  md::save_npy(dir + "/vol.npy", torch::zeros({28, 28, 28}, torch::kFloat));
  EXPECT_EQ(md::read_input(dir + "/a.png", 2).sizes(), (std::vector<int64_t>{3, 28, 28}));
  EXPECT_EQ(md::read_input(dir + "/hwc.npy", 2).sizes(), (std::vector<int64_t>{3, 28, 28}));
  EXPECT_EQ(md::read_input(dir + "/vol.npy", 3).sizes(), (std::vector<int64_t>{1, 28, 28, 28}));
  auto message = [](const std::string& path, int dims) {
    try {
      md::read_input(path, dims);
    } catch (const mednet::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(dir + "/a.png", 3).find("a 2D picture given to a 3D model"), std::string::npos);
  EXPECT_NE(message(dir + "/vol.npy", 2).find("is not a 2D input"), std::string::npos);
  EXPECT_NE(message(dir + "/x.bmp", 2).find("unsupported format '.bmp'"), std::string::npos);
  EXPECT_TRUE(md::is_input_file("A.JPEG"));
  EXPECT_TRUE(md::is_input_file("a.nii"));
  EXPECT_TRUE(md::is_input_file("dir/A.NII.GZ"));
  EXPECT_FALSE(md::is_input_file("a.gz"));
}
