// trust/: calibration, temperature scaling and conformal sets, checked by hand on small cases and against
// an independent NumPy/SciPy implementation (tests/scripts/trust_reference.py) on fixed score files.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/data/npy.h"
#include "mednet/metrics/calibration.h"
#include "mednet/metrics/metrics.h"
#include "mednet/trust/conformal.h"
#include "mednet/trust/temperature.h"
#include "support/fixtures.h"

using namespace mednet;
using data::Task;

namespace {

// n rows of a model that is too sure of itself: its probabilities are softmax(2 z), the truth is drawn from
// softmax(z) (multi-label: sigmoid per label).
std::pair<at::Tensor, at::Tensor> overconfident(Task task, int64_t n, int64_t k, uint64_t seed) {
  torch::manual_seed(seed);
  const at::Tensor z = torch::randn({n, k}, torch::kDouble) * 1.5;
  if (task == Task::MultiLabel) {
    const at::Tensor y = torch::bernoulli(torch::sigmoid(z)).to(torch::kLong);
    return {y, torch::sigmoid(2 * z)};
  }
  const at::Tensor y = torch::multinomial(torch::softmax(z, 1), 1).to(torch::kLong);
  return {y, torch::softmax(2 * z, 1)};
}

}  // namespace

TEST(Calibration, AgreesWithTheNumpyReferenceForEveryTask) {
  const std::string dir = mednet::testing::temp_dir("trust_ref");
  for (const auto& [task, name, k] :
       std::vector<std::tuple<Task, std::string, int64_t>>{{Task::MultiClass, "multiclass", 5},
                                                           {Task::BinaryClass, "binary", 2},
                                                           {Task::MultiLabel, "multilabel", 4}}) {
    const auto [y, p] = overconfident(task, 400, k, 7);
    data::save_npy(dir + "/y.npy", y);
    data::save_npy(dir + "/p.npy", p);
    const auto [rc, out] = mednet::testing::run_command("/usr/bin/python3 " MEDNET_SOURCE_DIR
                                                        "/tests/scripts/trust_reference.py " +
                                                        name + " " + dir + "/y.npy " + dir + "/p.npy 0.9");
    if (rc != 0 && out.find("No module named") != std::string::npos)
      GTEST_SKIP() << "SKIPPED: python3-numpy or python3-scipy is not installed: " << out;
    ASSERT_EQ(rc, 0) << out;
    const auto ref = nlohmann::json::parse(out.substr(out.find('{')));
    const metrics::CalibrationScores c = metrics::calibration_scores(task, y, p);
    EXPECT_NEAR(c.ece, ref["ece"].get<double>(), 1e-9) << name;
    EXPECT_NEAR(c.mce, ref["mce"].get<double>(), 1e-9) << name;
    EXPECT_NEAR(c.brier, ref["brier"].get<double>(), 1e-9) << name;
    EXPECT_NEAR(c.nll, ref["nll"].get<double>(), 1e-9) << name;
    const double t = trust::fit_temperature(task, y, p);
    EXPECT_NEAR(t, ref["temperature"].get<double>(), 1e-6) << name;
    EXPECT_GT(t, 1.3) << name;  // an overconfident model is cooled
    const trust::ConformalThreshold q =
        trust::fit_conformal(task, y, trust::apply_temperature(task, p, t), 0.9);
    const auto thresholds = ref["thresholds"].get<std::vector<double>>();
    ASSERT_EQ(q.thresholds.size(), thresholds.size()) << name;
    for (size_t i = 0; i < thresholds.size(); ++i) EXPECT_NEAR(q.thresholds[i], thresholds[i], 1e-6) << name;
  }
}

TEST(Temperature, KeepsThePredictionsAndTheBinaryAucAndLowersNll) {
  for (Task task : {Task::BinaryClass, Task::MultiClass, Task::MultiLabel}) {
    const auto [y, p] = overconfident(task, 500, task == Task::BinaryClass ? 2 : 4, 3);
    const double t = trust::fit_temperature(task, y, p);
    const at::Tensor q = trust::apply_temperature(task, p, t);
    const metrics::Scores before = metrics::evaluate(task, y, p), after = metrics::evaluate(task, y, q);
    EXPECT_EQ(before.acc, after.acc);  // bit-identical: the predicted class never changes
    if (task != Task::MultiClass) EXPECT_EQ(before.auc, after.auc);  // scores keep their order
    EXPECT_LT(metrics::calibration_scores(task, y, q).nll, metrics::calibration_scores(task, y, p).nll);
    EXPECT_LT(metrics::calibration_scores(task, y, q).ece, metrics::calibration_scores(task, y, p).ece);
  }
  const at::Tensor p = torch::tensor({{0.7, 0.3}}, torch::kDouble);
  EXPECT_TRUE(torch::allclose(trust::apply_temperature(Task::MultiClass, p, 1.0), p, 0, 1e-12));
  for (double bad : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()})
    EXPECT_THROW(trust::apply_temperature(Task::MultiClass, p, bad), Error) << bad;
}

TEST(Conformal, SetsCoverExchangeableDataAsPromised) {
  // Calibrate on 1000 rows, check on 4000 more from the same model: coverage near 90% for every task.
  for (Task task : {Task::MultiClass, Task::BinaryClass, Task::MultiLabel}) {
    const int64_t k = task == Task::BinaryClass ? 2 : 5;
    const auto [y, p] = overconfident(task, 5000, k, 11);
    const trust::ConformalThreshold t =
        trust::fit_conformal(task, y.narrow(0, 0, 1000), p.narrow(0, 0, 1000), 0.9);
    const at::Tensor sets = trust::prediction_sets(task, p.narrow(0, 1000, 4000), t);
    const trust::SetReport r = trust::evaluate_sets(task, y.narrow(0, 1000, 4000), sets);
    EXPECT_GT(r.coverage, 0.88) << static_cast<int>(task);
    EXPECT_LT(r.coverage, 0.93) << static_cast<int>(task);
    EXPECT_GE(r.mean_size, 1.0);
    const at::Tensor sizes = task == Task::MultiLabel ? sets.sum(2) : sets.sum(1);
    EXPECT_GE(sizes.min().item<int64_t>(), 1);  // never empty
  }
  const auto [y, p] = overconfident(Task::MultiClass, 50, 3, 1);
  for (double bad : {0.0, 1.0, -0.5, 1.5, std::nan("")}) {
    try {
      trust::fit_conformal(Task::MultiClass, y, p, bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage);
      EXPECT_NE(std::string(e.what()).find("--coverage"), std::string::npos);
    }
  }
  // Too few calibration rows for 99%: every class is in every set.
  const trust::ConformalThreshold all =
      trust::fit_conformal(Task::MultiClass, y.narrow(0, 0, 20), p.narrow(0, 0, 20), 0.99);
  EXPECT_TRUE(trust::prediction_sets(Task::MultiClass, p, all).all().item<bool>());
}
