// run/checkpoint.h: a checkpoint round trip, and one that does not fit the model refused with the
// tensor named (LibTorch's loader would otherwise replace the tensor whatever its shape).
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/run/checkpoint.h"
#include "mednet/run/open_run.h"
#include "support/fixtures.h"

using namespace mednet;

TEST(Checkpoint, RoundTripKeepsEveryTensor) {
  const std::string path = mednet::testing::temp_dir("checkpoint_rt") + "/best.pt";
  torch::manual_seed(1);
  torch::nn::Sequential a(torch::nn::Linear(4, 3), torch::nn::BatchNorm1d(3));
  run::save_module(*a, path);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  torch::nn::Sequential b(torch::nn::Linear(4, 3), torch::nn::BatchNorm1d(3));
  run::load_module(*b, path, torch::kCPU);
  for (const auto& p : a->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), b->named_parameters()[p.key()]));
}

TEST(Checkpoint, AModelOfOtherWidthsIsRefusedWithTheTensorNamed) {
  const std::string path = mednet::testing::temp_dir("checkpoint_shape") + "/last.pt";
  torch::nn::Sequential wide(torch::nn::Linear(4, 8));
  run::save_module(*wide, path);
  torch::nn::Sequential narrow(torch::nn::Linear(4, 3));
  try {
    run::load_module(*narrow, path, torch::kCPU);
    FAIL() << "a checkpoint of other shapes was loaded";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("does not fit the model its run's config.json describes: '0.weight' is [8, 4] there"),
              std::string::npos)
        << what;
  }
}

TEST(NewRunDir, OnlyAMissingOrEmptyFolderTakesANewRun) {
  const std::string dir = mednet::testing::temp_dir("new_run_dir");
  EXPECT_NO_THROW(run::check_new_run_dir(dir + "/not_yet"));
  EXPECT_NO_THROW(run::check_new_run_dir(dir));  // empty
  auto usage_error = [](const std::string& d) -> std::string {
    try {
      run::check_new_run_dir(d);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage);
      return e.what();
    }
    return "";
  };
  std::ofstream(dir + "/config.json") << "{\"epochs\": 5}";  // a person's own file
  EXPECT_NE(usage_error(dir).find(" is not empty and holds no finished epoch"), std::string::npos);
  EXPECT_NE(usage_error(dir + "/config.json").find(" is a file, not a folder"), std::string::npos);
  std::ofstream(dir + "/state.json") << "{}";
  EXPECT_NE(usage_error(dir).find(" already holds a run; continue it with --resume"), std::string::npos);
}
