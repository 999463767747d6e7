// mednet trust as a user runs it: the run folder gains calibration.json, trust.json, trust.md and the
// reliability diagram; bad flags and folders are usage errors.
#include <torch/torch.h>

#include "app/cli_fixture.h"
#include "mednet/data/npy.h"

using namespace mednet::testing;
namespace fs = std::filesystem;

namespace {

class TrustCommand : public Cli {};

TEST_F(TrustCommand, WritesCalibrationAndConformalSetsOfAFinishedRun) {
  const std::string root = fake_medmnist_root("retinamnist", 120, 60, 80);
  const std::string run = home_ + "/run";
  auto [rc, out] = mednet("train --dataset retinamnist --widths 4,8 --epochs 2 --root " + root +
                              " --threads 2 --skip-md5 --out " + run,
                          home_);
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = mednet("trust --run " + run + " --coverage 0.8 --skip-md5", home_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(contains(out, "80% conformal sets (aps")) << out;
  EXPECT_TRUE(contains(out, "## Out-of-distribution flags")) << out;
  for (const char* f : {"calibration.json", "trust.json", "trust.md", "ood.safetensors"})
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;
  if (report_available(out)) EXPECT_GT(png_size(run + "/reliability.png").first, 500);
  const auto cal = nlohmann::json::parse(read_file(run + "/calibration.json"));
  EXPECT_GT(cal["temperature"].get<double>(), 0);
  EXPECT_EQ(cal["fitted_on"], "val");
  EXPECT_EQ(cal["conformal"]["coverage"].get<double>(), 0.8);
  EXPECT_EQ(cal["conformal"]["calibration_size"].get<int>(), 60);
  EXPECT_EQ(cal["fitted_size"].get<int>(), 60);
  EXPECT_LE(cal["nll_after"].get<double>(), cal["nll_before"].get<double>());
  const auto t = nlohmann::json::parse(read_file(run + "/trust.json"));
  const double coverage = t["test_sets"]["coverage"].get<double>();
  EXPECT_GE(coverage, 0.0);
  EXPECT_LE(coverage, 1.0);
  EXPECT_EQ(t["test_sets"]["per_class"].size(), 5u);
  // noise and blank pictures (the data folder holds no other file); thresholds pass 95% of validation
  ASSERT_EQ(t["ood"]["sets"].size(), 2u);
  EXPECT_EQ(t["ood"]["sets"][0]["set"], "uniform noise");
  for (const char* s : {"msp", "energy", "mahalanobis"}) {
    const double auroc = t["ood"]["sets"][1]["scores"][s]["auroc"].get<double>();
    EXPECT_GE(auroc, 0.0) << s;
    EXPECT_LE(auroc, 1.0) << s;
    EXPECT_LE(t["ood"]["test_flagged"][s].get<double>(), 1.0) << s;
  }
  EXPECT_EQ(t["test"]["acc_before"], t["test"]["acc_after"]);  // the predicted grade never changes
  const auto metrics = nlohmann::json::parse(read_file(run + "/metrics.json"));
  EXPECT_NEAR(t["test"]["auc_before"].get<double>(), metrics["test"]["auc"].get<double>(), 1e-6);

  // eval --calibrated scores the split with it, beside the run's own scores, into a result file of its own
  std::tie(rc, out) = mednet("eval --run " + run + " --calibrated --threads 2 --skip-md5", home_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(contains(out, "calibrated (temperature ")) << out;
  EXPECT_TRUE(contains(out, "80% conformal sets hold the true class for ")) << out;
  bool calibrated_file = false;
  for (const auto& e : fs::directory_iterator(run))
    calibrated_file |= contains(e.path().filename().string(), "_test_") &&
                       contains(e.path().filename().string(), "@seed0-calibrated.csv");
  EXPECT_TRUE(calibrated_file);

  // an ensemble scales each member by its own temperature before the mean
  std::tie(rc, out) = mednet(
      "ensemble --runs " + run + " " + run + " --calibrated --skip-md5 --threads 2 --out " + home_ + "/ens",
      home_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(contains(out, run + " (temperature ")) << out;
  EXPECT_TRUE(contains(read_file(home_ + "/ens/ensemble.json"), "from calibration.json")) << out;

  // predict applies it: temperature-scaled probabilities and each input's 80% set, unless told not to
  const std::string npy = home_ + "/picture.npy";
  mednet::data::save_npy(npy, torch::full({28, 28, 3}, 128, torch::kByte));
  std::tie(rc, out) = mednet("predict --run " + run + " " + npy + " --out " + home_ + "/p.csv", home_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(contains(out, "calibrated by " + run + "/calibration.json: temperature ")) << out;
  EXPECT_TRUE(contains(out, "; 80% set: ")) << out;
  EXPECT_TRUE(contains(out, "out-of-distribution check by " + run + "/ood.safetensors: mahalanobis score"))
      << out;
  EXPECT_TRUE(contains(read_file(home_ + "/p.csv"), ",set_80%,ood_mahalanobis,ood_flag,error"))
      << read_file(home_ + "/p.csv");
  std::tie(rc, out) =
      mednet("predict --run " + run + " " + npy + " --no-ood --out " + home_ + "/p.csv", home_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(contains(read_file(home_ + "/p.csv"), ",set_80%,error")) << read_file(home_ + "/p.csv");
  expect_usage_error("predict --run " + run + " " + npy + " --ood-score odin", "--ood-score");
  std::tie(rc, out) =
      mednet("predict --run " + run + " " + npy + " --uncalibrated --out " + home_ + "/p.csv", home_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_FALSE(contains(out, "set:")) << out;
  std::ofstream(run + "/calibration.json") << R"({"temperature": 0})";
  std::tie(rc, out) = mednet("predict --run " + run + " " + npy + " --out " + home_ + "/p.csv", home_);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(contains(out, run + "/calibration.json is damaged")) << out;
  fs::remove(run + "/calibration.json");
  expect_usage_error("eval --run " + run + " --calibrated --skip-md5", "has no calibration.json");
  expect_usage_error(
      "ensemble --runs " + run + " " + run + " --calibrated --skip-md5 --out " + home_ + "/ens2",
      "has no calibration.json");

  expect_usage_error("trust --run " + run + " --coverage 1.5 --skip-md5",
                     "--coverage must be between 0 and 1");
  expect_usage_error("trust --run " + home_ + "/nothing", "is not a finished run");
}

}  // namespace
