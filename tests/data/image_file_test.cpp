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

// The encoder and the decoder as a round trip: sizes and channels kept, pixels close at a high quality and
// further off at a low one; the bytes are a JPEG file PIL reads the same way (the same libjpeg).
TEST(ImageFile, JpegEncodeDecodeRoundTrip) {
  if (!MEDNET_HAVE_JPEG) GTEST_SKIP() << "built without libjpeg";
  torch::manual_seed(3);
  const at::Tensor yy = torch::linspace(0, 1, 24).view({24, 1}).expand({24, 32});
  const at::Tensor xx = torch::linspace(0, 1, 32).view({1, 32}).expand({24, 32});
  const at::Tensor rgb =
      torch::stack({yy * 200 + 20, xx * 180 + 30, (xx + yy) * 100}).round().to(torch::kUInt8);
  for (const at::Tensor& img : {rgb, rgb.slice(0, 0, 1).contiguous()}) {
    const at::Tensor hi = md::decode_jpeg(md::encode_jpeg(img, 95), "hi");
    const at::Tensor lo = md::decode_jpeg(md::encode_jpeg(img, 5), "lo");
    ASSERT_EQ(hi.sizes(), img.sizes());
    ASSERT_EQ(lo.sizes(), img.sizes());
    const double err_hi = (hi.to(torch::kFloat) - img.to(torch::kFloat)).abs().mean().item<double>();
    const double err_lo = (lo.to(torch::kFloat) - img.to(torch::kFloat)).abs().mean().item<double>();
    EXPECT_LT(err_hi, 2.0);
    EXPECT_GT(err_lo, err_hi);
  }
  const std::string dir = mednet::testing::temp_dir("jpeg_rt");
  const std::string bytes = md::encode_jpeg(rgb, 30);
  {
    std::ofstream f(dir + "/a.jpg", std::ios::binary);
    f << bytes;
  }
  EXPECT_TRUE(torch::equal(md::read_jpeg(dir + "/a.jpg"), md::decode_jpeg(bytes, "a")));
  EXPECT_THROW(md::encode_jpeg(rgb, 0), mednet::Error);
  EXPECT_THROW(md::encode_jpeg(rgb.to(torch::kFloat), 50), mednet::Error);
  EXPECT_THROW(md::decode_jpeg(bytes.substr(0, bytes.size() / 2), "half"), mednet::Error);
}
