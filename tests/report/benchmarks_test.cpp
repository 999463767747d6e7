// The published MedMNIST v2 rows against cells of the paper's table (Yang et al., Scientific Data 2023),
// written here, and the best row of a dataset.
#include <gtest/gtest.h>

#include "mednet/report/benchmarks.h"

using namespace mednet;

namespace {
report::BenchmarkRow row_of(const std::string& flag, const std::string& method) {
  for (const auto& r : report::medmnist_v2_rows(flag))
    if (r.method == method) return r;
  ADD_FAILURE() << flag << " has no row " << method;
  return {method, -1, -1};
}
}  // namespace

TEST(Benchmarks, CellsMatchThePaper) {
  EXPECT_DOUBLE_EQ(row_of("retinamnist", "ResNet-18 (28)").auc, 0.717);
  EXPECT_DOUBLE_EQ(row_of("retinamnist", "ResNet-18 (28)").acc, 0.524);
  EXPECT_DOUBLE_EQ(row_of("retinamnist", "Google AutoML Vision").auc, 0.750);
  EXPECT_DOUBLE_EQ(row_of("adrenalmnist3d", "ResNet-18+ACS").auc, 0.839);
  EXPECT_DOUBLE_EQ(row_of("adrenalmnist3d", "auto-sklearn").acc, 0.802);
  EXPECT_EQ(report::medmnist_v2_rows("retinamnist").size(), 7u);
  EXPECT_EQ(report::medmnist_v2_rows("adrenalmnist3d").size(), 8u);
}

TEST(Benchmarks, TheBestRowIsTheHighestAucAndNoneWithoutRows) {
  const auto retina = report::best_medmnist_v2_row("retinamnist");
  ASSERT_TRUE(retina.has_value());
  EXPECT_EQ(retina->method, "Google AutoML Vision");
  EXPECT_DOUBLE_EQ(retina->auc, 0.750);
  const auto adrenal = report::best_medmnist_v2_row("adrenalmnist3d");
  ASSERT_TRUE(adrenal.has_value());
  EXPECT_EQ(adrenal->method, "ResNet-18+ACS");
  EXPECT_FALSE(report::best_medmnist_v2_row("no-such-dataset").has_value());
}
