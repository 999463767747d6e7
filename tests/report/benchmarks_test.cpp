// The published MedMNIST v2 rows against cells of the paper's tables (Yang et al., Scientific Data 2023),
// written here by hand, a few per dataset; every catalog dataset has its full set of rows; the best row.
#include <gtest/gtest.h>

#include "mednet/data/catalog.h"
#include "mednet/report/benchmarks.h"

using namespace mednet;

namespace {
report::BenchmarkRow row_of(const std::string& flag, const std::string& method) {
  for (const auto& r : report::medmnist_v2_rows(flag))
    if (r.method == method) return r;
  ADD_FAILURE() << flag << " has no row " << method;
  return {method, -1, -1};
}

void expect_cell(const std::string& flag, const std::string& method, double auc, double acc) {
  const auto r = row_of(flag, method);
  EXPECT_DOUBLE_EQ(r.auc, auc) << flag << " " << method;
  EXPECT_DOUBLE_EQ(r.acc, acc) << flag << " " << method;
}
}  // namespace

TEST(Benchmarks, CellsMatchThePaper) {
  expect_cell("pathmnist", "ResNet-50 (28)", 0.990, 0.911);
  expect_cell("chestmnist", "auto-sklearn", 0.649, 0.779);
  expect_cell("dermamnist", "Google AutoML Vision", 0.914, 0.768);
  expect_cell("octmnist", "ResNet-50 (224)", 0.958, 0.776);
  expect_cell("pneumoniamnist", "Google AutoML Vision", 0.991, 0.946);
  expect_cell("retinamnist", "ResNet-18 (28)", 0.717, 0.524);
  expect_cell("retinamnist", "Google AutoML Vision", 0.750, 0.531);
  expect_cell("breastmnist", "ResNet-18 (28)", 0.901, 0.863);
  expect_cell("breastmnist", "Google AutoML Vision", 0.919, 0.861);
  expect_cell("bloodmnist", "auto-sklearn", 0.984, 0.878);
  expect_cell("tissuemnist", "AutoKeras", 0.941, 0.703);
  expect_cell("organamnist", "ResNet-18 (224)", 0.998, 0.951);
  expect_cell("organcmnist", "ResNet-18 (28)", 0.992, 0.900);
  expect_cell("organsmnist", "AutoKeras", 0.974, 0.813);
  expect_cell("organmnist3d", "ResNet-18+3D", 0.996, 0.907);
  expect_cell("nodulemnist3d", "auto-sklearn", 0.914, 0.874);
  expect_cell("adrenalmnist3d", "ResNet-18+ACS", 0.839, 0.754);
  expect_cell("adrenalmnist3d", "auto-sklearn", 0.828, 0.802);
  expect_cell("fracturemnist3d", "ResNet-50+ACS", 0.750, 0.517);
  expect_cell("vesselmnist3d", "ResNet-18+ACS", 0.930, 0.928);
  expect_cell("vesselmnist3d", "ResNet-50+3D", 0.907, 0.918);
  expect_cell("synapsemnist3d", "ResNet-50+3D", 0.851, 0.795);
}

TEST(Benchmarks, EveryCatalogDatasetHasItsSevenOrEightRows) {
  ASSERT_EQ(data::catalog().size(), 18u);
  for (const auto& d : data::catalog()) {
    const auto rows = report::medmnist_v2_rows(d.flag);
    EXPECT_EQ(rows.size(), d.spatial_dims() == 3 ? 8u : 7u) << d.flag;
    for (const auto& r : rows) {
      EXPECT_GT(r.auc, 0.5) << d.flag << " " << r.method;
      EXPECT_LT(r.auc, 1.0) << d.flag << " " << r.method;
      EXPECT_GT(r.acc, 0.39) << d.flag << " " << r.method;
      EXPECT_LT(r.acc, 1.0) << d.flag << " " << r.method;
    }
  }
}

TEST(Benchmarks, TheBestRowIsTheHighestAucAndNoneWithoutRows) {
  const auto retina = report::best_medmnist_v2_row("retinamnist");
  ASSERT_TRUE(retina.has_value());
  EXPECT_EQ(retina->method, "Google AutoML Vision");
  EXPECT_DOUBLE_EQ(retina->auc, 0.750);
  const auto adrenal = report::best_medmnist_v2_row("adrenalmnist3d");
  ASSERT_TRUE(adrenal.has_value());
  EXPECT_EQ(adrenal->method, "ResNet-18+ACS");
  const auto vessel = report::best_medmnist_v2_row("vesselmnist3d");
  ASSERT_TRUE(vessel.has_value());
  EXPECT_EQ(vessel->method, "ResNet-18+ACS");
  EXPECT_FALSE(report::best_medmnist_v2_row("no-such-dataset").has_value());
}

TEST(Benchmarks, TablesMarkTheBestOfEachColumn) {
  const std::string breast = report::published_table("breastmnist");
  EXPECT_NE(breast.find("v2 ResNet-18 (28)          0.901    0.863*"), std::string::npos) << breast;
  EXPECT_NE(breast.find("v2 Google AutoML Vision    0.919*   0.861 "), std::string::npos) << breast;
  const std::string run = report::comparison_table("breastmnist", "cnn (seed 1)", 0.926, 0.859);
  EXPECT_NE(run.find("this run vs best v2 row (*): AUC +0.007, ACC -0.004"), std::string::npos) << run;
  EXPECT_NE(report::published_table("nosuchmnist").find("no MedMNIST v2 rows for nosuchmnist"),
            std::string::npos);
}
