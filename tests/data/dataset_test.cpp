#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/dataset.h"
#include "mednet/data/download.h"
#include "mednet/data/npy.h"
#include "support/errors.h"
#include "support/fixtures.h"

using namespace mednet::data;
using namespace mednet::testing;

namespace {

TEST(Dataset, ReadsGeneratedThreeDFileChannelFirst) {
  const std::string path = temp_dir("ds") + "/nodulemnist3d.npz";
  write_fake_medmnist(path, "nodulemnist3d", 12, 4, 5);
  const auto m = load_medmnist(find_dataset("nodulemnist3d"), 28, path);
  EXPECT_EQ(m.train.images.sizes(), (std::vector<int64_t>{12, 1, 28, 28, 28}));
  EXPECT_EQ(m.train.labels.sizes(), (std::vector<int64_t>{12, 1}));
  EXPECT_EQ(m.train.labels.scalar_type(), at::kLong);
  EXPECT_EQ(m.val.size(), 4);
  EXPECT_EQ(m.test.size(), 5);
}

TEST(Dataset, ReadsRgbAndMultiLabelFiles) {
  const std::string dir = temp_dir("ds");
  write_fake_medmnist(dir + "/retinamnist.npz", "retinamnist", 6, 2, 2);
  const auto r = load_medmnist(find_dataset("retinamnist"), 28, dir + "/retinamnist.npz");
  EXPECT_EQ(r.train.images.sizes(), (std::vector<int64_t>{6, 3, 28, 28}));
  write_fake_medmnist(dir + "/chestmnist.npz", "chestmnist", 6, 2, 2);
  const auto c = load_medmnist(find_dataset("chestmnist"), 28, dir + "/chestmnist.npz");
  EXPECT_EQ(c.train.images.sizes(), (std::vector<int64_t>{6, 1, 28, 28}));
  EXPECT_EQ(c.train.labels.sizes(), (std::vector<int64_t>{6, 14}));
}

// Writes a Nodule-format file with one array replaced.
std::string file_with(const std::string& dir, const std::string& key, const at::Tensor& value) {
  std::vector<std::pair<std::string, at::Tensor>> arrays;
  for (const char* s : {"train", "val", "test"}) {
    arrays.emplace_back(std::string(s) + "_images", torch::zeros({3, 28, 28, 28}, torch::kByte));
    arrays.emplace_back(std::string(s) + "_labels", torch::zeros({3, 1}, torch::kByte));
  }
  for (auto& [k, v] : arrays)
    if (k == key) v = value;
  const std::string path = dir + "/bad_" + key + ".npz";
  write_npz(path, arrays);
  return path;
}

TEST(Dataset, InconsistentFilesAreClearErrors) {
  const std::string dir = temp_dir("ds");
  const auto& info = find_dataset("nodulemnist3d");
  auto load = [&](const std::string& path) { return [&, path] { load_medmnist(info, 28, path); }; };
  std::string msg = error_of(load(file_with(dir, "val_labels", torch::zeros({2, 1}, torch::kByte))));
  EXPECT_NE(msg.find("val_images has 3 samples but val_labels has 2"), std::string::npos) << msg;
  msg = error_of(load(file_with(dir, "train_labels", torch::full({3, 1}, 4, torch::kByte))));
  EXPECT_NE(msg.find("expected [0, 1]"), std::string::npos) << msg;
  msg = error_of(load(file_with(dir, "test_images", torch::zeros({3, 28, 28}, torch::kByte))));
  EXPECT_NE(msg.find("expected (N, D, H, W)"), std::string::npos) << msg;
  msg = error_of(load(file_with(dir, "train_images", torch::zeros({3, 28, 28, 28}, torch::kFloat))));
  EXPECT_NE(msg.find("expected uint8"), std::string::npos) << msg;
  msg = error_of(load(file_with(dir, "train_images", torch::zeros({3, 64, 64, 64}, torch::kByte))));
  EXPECT_NE(msg.find("expected spatial size 28"), std::string::npos) << msg;
}

TEST(Dataset, RootLookupOrderAndMissingFileMessage) {
  const std::string a = temp_dir("rootA"), b = temp_dir("rootB");
  write_fake_medmnist(b + "/nodulemnist3d.npz", "nodulemnist3d", 2, 2, 2);
  setenv("MEDMNIST_ROOT", b.c_str(), 1);
  const auto& info = find_dataset("nodulemnist3d");
  EXPECT_EQ(locate_file(info, 28, a), b + "/nodulemnist3d.npz");  // --root first, then MEDMNIST_ROOT
  write_fake_medmnist(a + "/nodulemnist3d.npz", "nodulemnist3d", 2, 2, 2);
  EXPECT_EQ(locate_file(info, 28, a), a + "/nodulemnist3d.npz");
  const std::string msg = error_of([&] { locate_file(info, 64, a); });
  EXPECT_NE(msg.find("cannot find nodulemnist3d_64.npz"), std::string::npos) << msg;
  EXPECT_NE(msg.find(a + "/nodulemnist3d_64.npz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("mednet fetch nodulemnist3d --size 64"), std::string::npos) << msg;
  unsetenv("MEDMNIST_ROOT");
}

TEST(Dataset, Md5IsCheckedOnceThenRemembered) {
  if (!md5_available()) GTEST_SKIP() << "this build has no MD5 support";
  const std::string dir = temp_dir("md5");
  setenv("XDG_CACHE_HOME", (dir + "/cache").c_str(), 1);
  const std::string path = dir + "/f.bin";
  std::ofstream(path) << "abc";
  EXPECT_EQ(md5_file(path), "900150983cd24fb0d6963f7d28e17f72");  // RFC 1321 test suite
  EXPECT_EQ(verify_md5(path, "900150983cd24fb0d6963f7d28e17f72"), Md5Status::Verified);
  EXPECT_EQ(verify_md5(path, "900150983cd24fb0d6963f7d28e17f72"), Md5Status::Remembered);
  const std::string msg = error_of([&] { verify_md5(path, "00000000000000000000000000000000"); });
  EXPECT_NE(msg.find("has MD5 900150983cd24fb0d6963f7d28e17f72"), std::string::npos) << msg;
  unsetenv("XDG_CACHE_HOME");
}

TEST(Dataset, NetworkInputIsScaledToMinusOneOne) {
  at::Tensor x = torch::tensor({0, 255, 51}, torch::kByte);
  at::Tensor y = to_network_input(x);
  EXPECT_FLOAT_EQ(y[0].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(y[1].item<float>(), 1.0f);
  EXPECT_NEAR(y[2].item<float>(), -0.6f, 1e-6);
}

}  // namespace
