// Data-parallel training on the real RetinaMNIST (label: real-data): the study's 2D CNN for 4
// epochs with 2 Gloo processes and with 1 process, same seed and global batch; the best validation
// AUC of the two runs must be close, and the 2-process run leaves a complete run folder.
#include <cstdlib>
#include <fstream>
#include <iostream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/fixtures.h"

namespace {

double best_val_auc(const std::string& dir) {
  std::ifstream in(dir + "/metrics.json");
  const auto j = nlohmann::json::parse(in);
  return j.at("val").at("auc").get<double>();
}

}  // namespace

TEST(RealData, TwoProcessesReachTheValidationAucOfOne) {
  const char* root = std::getenv("MEDMNIST_ROOT");
  ASSERT_TRUE(root && *root) << "set MEDMNIST_ROOT to the folder with the official files";
  const std::string dir = mednet::testing::temp_dir("real_dist");
  const std::string common =
      std::string(MEDNET_BIN) +
      " train --dataset retinamnist --model cnn --epochs 4 --patience 0 --seed 0 --root " + root;
  const auto one = mednet::testing::run_command(common + " --threads 2 --out " + dir + "/one 2>&1");
  ASSERT_EQ(one.first, 0) << one.second;
  const auto two = mednet::testing::run_command(common + " --nproc 2 --out " + dir + "/two 2>&1");
  ASSERT_EQ(two.first, 0) << two.second;
  EXPECT_NE(two.second.find("data-parallel: rank 0 of 2 (gloo)"), std::string::npos) << two.second;
  const double a1 = best_val_auc(dir + "/one"), a2 = best_val_auc(dir + "/two");
  std::cout << "[ dist ] best validation AUC: 1 process " << a1 << ", 2 processes " << a2 << "\n";
  EXPECT_GT(a2, 0.70);
  EXPECT_NEAR(a2, a1, 0.05);
}
