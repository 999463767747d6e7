#include "mednet/data/image_file.h"

#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/build_config.h"
#include "mednet/core/error.h"
#include "support/fixtures.h"

namespace md = mednet::data;

TEST(ImageFile, PngRoundTripGrayAndRgb) {
  if (!MEDNET_HAVE_PNG) GTEST_SKIP() << "built without libpng";
  const std::string dir = mednet::testing::temp_dir("png");
  torch::manual_seed(0);
  for (int64_t c : {1, 3}) {
    const at::Tensor img = torch::randint(0, 256, {c, 17, 23}, torch::kUInt8);
    const std::string path = dir + "/x" + std::to_string(c) + ".png";
    md::write_png(path, img);
    const at::Tensor back = md::read_png(path);
    ASSERT_EQ(back.sizes(), img.sizes());
    EXPECT_TRUE(torch::equal(back, img));
  }
  EXPECT_THROW(md::write_png(dir + "/bad.png", torch::zeros({2, 4, 4}, torch::kUInt8)), mednet::Error);
}

TEST(ImageFile, DamagedPicturesAreErrorsNamingTheFile) {
  const std::string dir = mednet::testing::temp_dir("png_bad");
  md::write_png(dir + "/ok.png", torch::full({3, 28, 28}, 100, torch::kUInt8));
  std::string bytes = mednet::testing::read_file(dir + "/ok.png");
  std::ofstream(dir + "/cut.png", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  std::ofstream(dir + "/text.png") << "not a picture";
  std::ofstream(dir + "/text.jpg") << "not a picture";
  for (const char* name : {"cut.png", "text.png"}) {
    try {
      md::read_png(dir + "/" + name);
      ADD_FAILURE() << name << " was read";
    } catch (const mednet::Error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
  try {
    md::read_jpeg(dir + "/text.jpg");
    ADD_FAILURE() << "text.jpg was read";
  } catch (const mednet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("text.jpg"), std::string::npos) << e.what();
  }
}

// JPEG files written by Debian's python3-pil (an independent encoder): gray and RGB decode to their
// size and channels, close to the pixels that were encoded; a truncated one is an error.
TEST(ImageFile, JpegFromAnIndependentEncoder) {
  if (!MEDNET_HAVE_JPEG) GTEST_SKIP() << "built without libjpeg";
  const std::string dir = mednet::testing::temp_dir("jpeg");
  const auto [rc, out] = mednet::testing::run_command(
      "/usr/bin/python3 -c \"from PIL import Image; "
      "Image.new('RGB', (30, 20), (200, 40, 90)).save('" +
      dir +
      "/rgb.jpg', quality=95); "
      "Image.new('L', (28, 28), 77).save('" +
      dir +
      "/gray.jpg', quality=95); "
      "d = open('" +
      dir + "/rgb.jpg', 'rb').read(); open('" + dir + "/cut.jpg', 'wb').write(d[:len(d) // 2])\"");
  ASSERT_EQ(rc, 0) << out;
  const at::Tensor rgb = md::read_jpeg(dir + "/rgb.jpg");
  ASSERT_EQ(rgb.sizes(), (std::vector<int64_t>{3, 20, 30}));
  EXPECT_NEAR(rgb[0].to(torch::kFloat).mean().item<float>(), 200, 3);
  EXPECT_NEAR(rgb[1].to(torch::kFloat).mean().item<float>(), 40, 3);
  const at::Tensor gray = md::read_jpeg(dir + "/gray.jpg");
  ASSERT_EQ(gray.sizes(), (std::vector<int64_t>{1, 28, 28}));
  EXPECT_NEAR(gray.to(torch::kFloat).mean().item<float>(), 77, 2);
  EXPECT_THROW(md::read_jpeg(dir + "/cut.jpg"), mednet::Error);
}
