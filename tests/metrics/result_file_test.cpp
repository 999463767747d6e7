#include "mednet/metrics/result_file.h"
#include "mednet/core/error.h"

#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "support/fixtures.h"

namespace mn = mednet::metrics;

TEST(ResultFile, NameFollowsTheMedmnistPattern) {
  EXPECT_EQ(mn::result_file_name({"octmnist", 28, "test", "3"}, 0.6724, 0.8916),
            "octmnist_test_[AUC]0.672_[ACC]0.892@3.csv");
  EXPECT_EQ(mn::result_file_name({"retinamnist", 64, "val", "seed0"}, 0.75, 0.5),
            "retinamnist_64_val_[AUC]0.750_[ACC]0.500@seed0.csv");
  EXPECT_THROW(mn::result_file_name({"retinamnist", 28, "val", "a.b"}, 0.75, 0.5), mednet::Error);
}

TEST(ResultFile, ParsesNamesAsParseAndEvaluateDoes) {
  const mn::ResultFileName a = mn::parse_result_file_name("/x/octmnist_test_[AUC]0.672_[ACC]0.892@3.csv");
  EXPECT_EQ(a.flag, "octmnist");
  EXPECT_EQ(a.size, 28);
  EXPECT_EQ(a.split, "test");
  EXPECT_EQ(a.run, "3");
  const mn::ResultFileName b = mn::parse_result_file_name("retinamnist_128_val.csv");
  EXPECT_EQ(b.size, 128);
  EXPECT_EQ(b.split, "val");
  EXPECT_EQ(b.run, "");
  EXPECT_THROW(mn::parse_result_file_name("retinamnist.csv"), mednet::Error);
  EXPECT_THROW(mn::parse_result_file_name("retinamnist_big_test.csv"), mednet::Error);
  EXPECT_THROW(mn::parse_result_file_name("retinamnist_64_holdout.csv"), mednet::Error);
}

TEST(ResultFile, RoundTripKeepsEveryScore) {
  const std::string path = mednet::testing::temp_dir("result_file") + "/retinamnist_test_x.csv";
  torch::manual_seed(0);
  const at::Tensor p = torch::softmax(torch::randn({37, 5}), 1);
  mn::write_result_file(path, p);
  const std::string text = mednet::testing::read_file(path);
  EXPECT_EQ(text.substr(0, 2), "0,");
  const at::Tensor back = mn::read_result_file(path);
  ASSERT_EQ(back.sizes(), p.sizes());
  EXPECT_TRUE(torch::allclose(back, p.to(torch::kDouble), 0, 1e-8));
}

TEST(ResultFile, RowsAreSortedByIndexAndDamageIsNamed) {
  const std::string dir = mednet::testing::temp_dir("result_file_bad");
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  const at::Tensor p = mn::read_result_file(write("ok.csv", "1,0.2,0.8\n0,0.9,0.1\n"));
  EXPECT_DOUBLE_EQ(p[0][0].item<double>(), 0.9);
  EXPECT_DOUBLE_EQ(p[1][1].item<double>(), 0.8);
  auto message = [&](const std::string& name, const std::string& text) {
    try {
      mn::read_result_file(write(name, text));
    } catch (const mednet::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("dup.csv", "0,0.1\n0,0.2\n").find("index 0 appears twice"), std::string::npos);
  EXPECT_NE(message("gap.csv", "0,0.1\n2,0.2\n").find("indices are not 0..1"), std::string::npos);
  EXPECT_NE(message("width.csv", "0,0.1,0.9\n1,0.2\n").find("line 2"), std::string::npos);
  EXPECT_NE(message("text.csv", "0,abc\n").find("text.csv line 1"), std::string::npos);
  EXPECT_NE(message("nan.csv", "0,nan\n").find("finite"), std::string::npos);
  EXPECT_NE(message("empty.csv", "").find("holds no rows"), std::string::npos);
}
