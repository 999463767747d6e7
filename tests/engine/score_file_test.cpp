#include "mednet/engine/score_file.h"
#include "mednet/core/error.h"

#include <cstdlib>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/core/strings.h"
#include "mednet/metrics/result_file.h"
#include "support/fixtures.h"

namespace mn = mednet::metrics;
namespace tf = mednet::testing;

namespace {

// A fake dataset file in dir and a result file of random scores for its test split.
std::string fixture(const std::string& dir, const std::string& flag, int classes, int64_t n_test) {
  tf::write_fake_medmnist(dir + "/" + flag + ".npz", flag, 20, 10, n_test);
  torch::manual_seed(5);
  const at::Tensor p = torch::softmax(torch::randn({n_test, classes}), 1);
  const std::string path = dir + "/" + mn::result_file_name({flag, 28, "test", "seed0"}, 0.5, 0.5);
  mn::write_result_file(path, p);
  return path;
}

}  // namespace

TEST(ScoreFile, ScoresTheSplitTheNameGives) {
  const std::string dir = tf::temp_dir("score_file");
  const std::string path = fixture(dir, "retinamnist", 5, 60);
  const mednet::engine::FileScore f = mednet::engine::score_result_file(path, dir, /*check_md5=*/false);
  EXPECT_EQ(f.info->flag, "retinamnist");
  EXPECT_EQ(f.name.split, "test");
  EXPECT_EQ(f.rows, 60);
  EXPECT_GT(f.scores.auc, 0.2);
  EXPECT_LT(f.scores.auc, 0.8);
  EXPECT_LE(f.ci.auc.lo, f.scores.auc);
  EXPECT_GE(f.ci.auc.hi, f.scores.auc);
}

TEST(ScoreFile, RowCountAndWidthMustMatchTheSplit) {
  const std::string dir = tf::temp_dir("score_file_bad");
  tf::write_fake_medmnist(dir + "/retinamnist.npz", "retinamnist", 20, 10, 30);
  const std::string rows = dir + "/retinamnist_test_a.csv";
  mn::write_result_file(rows, torch::full({29, 5}, 0.2));
  EXPECT_THROW(
      {
        try {
          mednet::engine::score_result_file(rows, dir, false);
        } catch (const mednet::Error& e) {
          EXPECT_NE(std::string(e.what()).find("29 rows but the test split"), std::string::npos) << e.what();
          throw;
        }
      },
      mednet::Error);
  const std::string width = dir + "/retinamnist_test_b.csv";
  mn::write_result_file(width, torch::full({30, 4}, 0.25));
  EXPECT_THROW(mednet::engine::score_result_file(width, dir, false), mednet::Error);
  EXPECT_THROW(mednet::engine::score_result_file(dir + "/nosuchmnist_test_c.csv", dir, false), mednet::Error);
}

// The same file scored three ways: the library, `mednet evaluate`, and the medmnist evaluator's rules
// with scikit-learn (tests/scripts/medmnist_evaluator.py, Debian's python3-sklearn).
TEST(ScoreFile, MatchesScikitLearnAndTheCommand) {
  const std::string dir = tf::temp_dir("score_file_sklearn");
  for (const auto& [flag, classes] :
       std::vector<std::pair<std::string, int>>{{"retinamnist", 5}, {"adrenalmnist3d", 2}}) {
    const std::string path = fixture(dir, flag, classes, 80);
    const mednet::engine::FileScore f = mednet::engine::score_result_file(path, dir, false);
    const auto [rc, out] =
        tf::run_command("/usr/bin/python3 " MEDNET_SOURCE_DIR "/tests/scripts/medmnist_evaluator.py '" +
                        path + "' '" + dir + "'");
    ASSERT_EQ(rc, 0) << out;
    const nlohmann::json py = nlohmann::json::parse(out);
    EXPECT_NEAR(py.at("auc").get<double>(), f.scores.auc, 1e-12) << flag;
    EXPECT_NEAR(py.at("acc").get<double>(), f.scores.acc, 1e-12) << flag;
    const auto [rc2, text] =
        tf::run_command(std::string(MEDNET_BIN) + " evaluate '" + path + "' --root '" + dir + "' --skip-md5");
    ASSERT_EQ(rc2, 0) << text;
    EXPECT_NE(text.find(mednet::core::format_scores(f.scores.auc, f.scores.acc)), std::string::npos) << text;
    EXPECT_NE(text.find("95% bootstrap intervals (1000 resamples)"), std::string::npos) << text;
  }
  const auto [rc, text] = tf::run_command(std::string(MEDNET_BIN) + " evaluate '" + dir +
                                          "/missing_test.csv' --root '" + dir + "'");
  EXPECT_EQ(rc, 1) << text;
  EXPECT_NE(text.find("missing_test.csv"), std::string::npos) << text;
}
