// Experiment 2D's targets, checked row by row against the fp32 row.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "mednet/experiments/quant_experiment.h"

using namespace mednet;

TEST(QuantExperiment, TargetsAreCheckedRowByRow) {
  quant::Row fp;
  fp.label = "fp32";
  fp.file_bytes = 1000;
  fp.test_auc = 0.80;
  fp.ms_batch256 = 100;
  quant::Row st = fp, qat = fp, dyn = fp;
  st.label = "static";
  st.file_bytes = 260;
  st.test_auc = 0.795;
  st.ms_batch256 = 30;
  qat.label = "qat";
  qat.file_bytes = 260;
  qat.test_auc = 0.785;
  qat.ms_batch256 = 24;
  dyn.label = "dynamic";
  dyn.file_bytes = 310;
  dyn.test_auc = 0.79;
  std::vector<experiments::QuantVariant> v(3);
  v[0].mode = quant::Method::Static;
  v[1].mode = quant::Method::Qat;
  v[2].mode = quant::Method::Dynamic;
  const auto lines = experiments::target_checks({fp, st, qat, dyn}, v);
  auto count = [&](const std::string& prefix) {
    int n = 0;
    for (const auto& l : lines) n += l.rfind(prefix, 0) == 0;
    return n;
  };
  // static: size, AUC pass; speed 3.33x misses. qat: size pass, AUC (-0.015) misses, speed 4.17x
  // passes, below static misses. dynamic: size 0.31x misses, AUC passes.
  EXPECT_EQ(lines.size(), 9u);
  EXPECT_EQ(count("PASS"), 5);
  EXPECT_EQ(count("MISS"), 4);
}
