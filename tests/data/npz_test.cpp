#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/npy.h"
#include "support/errors.h"
#include "support/fixtures.h"

using mednet::Error;
using mednet::data::npy_bytes;
using mednet::data::NpzReader;
using namespace mednet::testing;

namespace {

std::vector<std::pair<std::string, std::string>> sample_entries() {
  return {
      {"images.npy",
       npy_bytes(torch::arange(2 * 28 * 28, torch::kInt).remainder(256).to(torch::kByte).view({2, 28, 28}))},
      {"labels.npy", npy_bytes(torch::tensor({{1}, {0}}, torch::kLong))}};
}

class NpzMethods : public ::testing::TestWithParam<std::pair<ZipMethod, bool>> {};

TEST_P(NpzMethods, ReadsEveryArray) {
  const std::string dir = temp_dir("npz");
  const std::string path = dir + "/a.npz";
  write_zip(path, sample_entries(), GetParam().first, GetParam().second);
  NpzReader npz(path);
  EXPECT_EQ(npz.keys(), (std::vector<std::string>{"images", "labels"}));
  EXPECT_TRUE(npz.contains("labels"));
  EXPECT_FALSE(npz.contains("nope"));
  at::Tensor images = npz.read("images");
  EXPECT_EQ(images.sizes(), (std::vector<int64_t>{2, 28, 28}));
  EXPECT_EQ(images.flatten()[300].item<int>(), 300 % 256);
  at::Tensor labels = npz.read("labels");
  EXPECT_EQ(labels.scalar_type(), at::kLong);
  EXPECT_EQ(labels[0][0].item<int64_t>(), 1);
}

INSTANTIATE_TEST_SUITE_P(StoredDeflateZip64, NpzMethods,
                         ::testing::Values(std::make_pair(ZipMethod::Stored, false),
                                           std::make_pair(ZipMethod::Deflate, false),
                                           std::make_pair(ZipMethod::Deflate, true)));

TEST(Npz, MissingFile) {
  EXPECT_NE(error_of([] { NpzReader("/nonexistent/x.npz"); }).find("cannot open /nonexistent/x.npz"),
            std::string::npos);
}

TEST(Npz, MissingKeyListsTheKeys) {
  const std::string path = temp_dir("npz") + "/a.npz";
  write_zip(path, sample_entries(), ZipMethod::Deflate);
  NpzReader npz(path);
  const std::string msg = error_of([&] { npz.read("train_images"); });
  EXPECT_NE(msg.find("no array 'train_images'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("images, labels"), std::string::npos) << msg;
}

TEST(Npz, TruncatedArchivesAreErrorsAtEveryCut) {
  const std::string dir = temp_dir("npz");
  const std::string path = dir + "/a.npz";
  write_zip(path, sample_entries(), ZipMethod::Deflate);
  const std::string whole = read_file(path);
  // Every cut point: the reader must throw mednet::Error (never crash, never return garbage).
  for (size_t cut = 0; cut < whole.size(); cut += 7) {
    const std::string p = dir + "/cut.npz";
    std::ofstream(p, std::ios::binary) << whole.substr(0, cut);
    EXPECT_THROW(
        {
          NpzReader npz(p);
          npz.read("images");
          npz.read("labels");
        },
        Error)
        << "cut at " << cut;
  }
}

TEST(Npz, CorruptDataIsDetected) {
  const std::string dir = temp_dir("npz");
  const std::string path = dir + "/a.npz";
  write_zip(path, sample_entries(), ZipMethod::Stored);
  std::string bytes = read_file(path);
  bytes[200] = static_cast<char>(bytes[200] ^ 0x5a);  // inside the first array's data
  std::ofstream(path, std::ios::binary) << bytes;
  NpzReader npz(path);
  const std::string msg = error_of([&] { npz.read("images"); });
  EXPECT_NE(msg.find("CRC-32 mismatch"), std::string::npos) << msg;
}

TEST(Npz, NotAZipFile) {
  const std::string path = temp_dir("npz") + "/a.npz";
  std::ofstream(path) << std::string(100, 'x');
  EXPECT_NE(error_of([&] { NpzReader r(path); }).find("not a zip"), std::string::npos);
}

}  // namespace
