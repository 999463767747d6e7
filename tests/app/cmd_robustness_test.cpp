// mednet robustness as a user runs it: a finished 2D run scored under every MedMNIST-C corruption of its
// dataset at five severities, the same numbers every time; a 3D run under the CT/MRI artifacts; bad flags
// and folders are usage errors.
#include <map>

#include <torch/torch.h>

#include "app/cli_fixture.h"

using namespace mednet::testing;
namespace fs = std::filesystem;

namespace {

class RobustnessCommand : public Cli {};

TEST_F(RobustnessCommand, ScoresEveryCorruptionAndSeverityOfARun) {
  const std::string root = fake_medmnist_root("retinamnist", 120, 40, 60);
  const std::string run = home_ + "/run";
  auto [rc, out] = mednet("train --dataset retinamnist --widths 4,8 --epochs 2 --root " + root +
                              " --threads 2 --skip-md5 --out " + run,
                          home_);
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) =
      mednet("robustness --run " + run + " --out " + home_ + "/rob --skip-md5 --threads 2", home_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(contains(out, "| defocus_blur |")) << out;
  const auto j = nlohmann::json::parse(read_file(home_ + "/rob/robustness.json"));
  EXPECT_EQ(j["images"].get<int>(), 60);
  EXPECT_EQ(j["corruptions"].size(), 8u);
  EXPECT_EQ(j["cells"].size(), 40u);
  EXPECT_TRUE(j["skipped"].empty());
  EXPECT_EQ(j["parameters"]["motion_blur"]["severities"][4]["used"], (std::vector<double>{2.5, 1.875}));
  EXPECT_EQ(j["parameters"]["motion_blur"]["severities"][4]["at_224"], (std::vector<double>{20, 15}));
  const auto metrics = nlohmann::json::parse(read_file(run + "/metrics.json"));
  EXPECT_NEAR(j["clean"]["auc"].get<double>(), metrics["test"]["auc"].get<double>(), 1e-6);
  EXPECT_NEAR(j["clean"]["acc"].get<double>(), metrics["test"]["acc"].get<double>(), 1e-6);
  double drops = 0;
  for (const auto& c : j["corruptions"]) {
    double mean = 0;
    for (const auto& cell : j["cells"])
      if (cell["corruption"] == c["corruption"]) {
        EXPECT_GE(cell["auc"].get<double>(), 0.0);
        EXPECT_LE(cell["auc"].get<double>(), 1.0);
        EXPECT_GE(cell["balanced_error"].get<double>(), 0.0);
        mean += cell["auc"].get<double>() / 5;
      }
    EXPECT_NEAR(c["mean_auc"].get<double>(), mean, 1e-9);
    EXPECT_NEAR(c["auc_drop"].get<double>(), j["clean"]["auc"].get<double>() - mean, 1e-9);
    drops += c["auc_drop"].get<double>() / 8;
  }
  EXPECT_NEAR(j["mean_auc_drop"].get<double>(), drops, 1e-9);
  // Per grade: the official AUC is the mean of the five one-against-the-rest AUCs, clean and under each
  // corruption, so the grades' clean AUCs average to the clean AUC and their drops to each corruption's.
  ASSERT_EQ(j["column_noun"], "grade");
  ASSERT_EQ(j["per_column"].size(), 5u);
  EXPECT_EQ(j["per_column"][4]["name"], "4");
  double clean_mean = 0;
  std::map<std::string, double> drop_mean;
  for (const auto& g : j["per_column"]) {
    clean_mean += g["clean_auc"].get<double>() / 5;
    double over_corruptions = 0;
    for (const auto& [name, d] : g["auc_drop"].items()) {
      drop_mean[name] += d.get<double>() / 5;
      over_corruptions += d.get<double>() / 8;
    }
    EXPECT_NEAR(g["mean_auc_drop"].get<double>(), over_corruptions, 1e-9);
  }
  EXPECT_NEAR(clean_mean, j["clean"]["auc"].get<double>(), 1e-9);
  ASSERT_EQ(drop_mean.size(), 8u);
  for (const auto& c : j["corruptions"])
    EXPECT_NEAR(drop_mean.at(c["corruption"].get<std::string>()), c["auc_drop"].get<double>(), 1e-9);
  EXPECT_TRUE(contains(read_file(home_ + "/rob/robustness.md"),
                       "| grade | clean AUC | mean AUC drop | worst corruption (its drop) |"));
  if (report_available(out)) {
    EXPECT_GT(png_size(home_ + "/rob/robustness_auc.png").first, 500);
    EXPECT_GT(png_size(home_ + "/rob/corruptions.png").first, 500);
  }

  // seeded: a second run gives the same numbers; another seed draws other noise
  std::tie(rc, out) =
      mednet("robustness --run " + run + " --out " + home_ + "/rob2 --skip-md5 --threads 2", home_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(read_file(home_ + "/rob2/robustness.json"))["cells"], j["cells"]);
  std::tie(rc, out) = mednet("robustness --run " + run + " --out " + home_ +
                                 "/rob3 --seed 4 --max-images 30 "
                                 "--skip-md5 --threads 2",
                             home_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(nlohmann::json::parse(read_file(home_ + "/rob3/robustness.json"))["images"].get<int>(), 30);

  // an ensemble folder: its members score each picture as the ensemble scored them
  const std::string run2 = home_ + "/run2";
  std::tie(rc, out) = mednet("train --dataset retinamnist --widths 4,8 --epochs 2 --seed 1 --root " + root +
                                 " --threads 2 --skip-md5 --out " + run2,
                             home_);
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = mednet(
      "ensemble --runs " + run + " " + run2 + " --skip-md5 --threads 2 --out " + home_ + "/ens", home_);
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = mednet("robustness --run " + home_ + "/ens --skip-md5 --threads 2", home_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(contains(out, "# Robustness of ensemble of 2 cnn on RetinaMNIST")) << out;
  const auto e = nlohmann::json::parse(read_file(home_ + "/ens/robustness.json"));
  const auto ens_metrics = nlohmann::json::parse(read_file(home_ + "/ens/metrics.json"));
  EXPECT_NEAR(e["clean"]["auc"].get<double>(), ens_metrics["test"]["auc"].get<double>(), 1e-6);
  EXPECT_NEAR(e["clean"]["acc"].get<double>(), ens_metrics["test"]["acc"].get<double>(), 1e-6);
  EXPECT_EQ(e["cells"].size(), 40u);
  // an ensemble of one run twice is that run: the same numbers in every cell
  std::tie(rc, out) = mednet(
      "ensemble --runs " + run + " " + run + " --skip-md5 --threads 2 --out " + home_ + "/twice", home_);
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = mednet("robustness --run " + home_ + "/twice --skip-md5 --threads 2", home_);
  ASSERT_EQ(rc, 0) << out;
  const auto twice = nlohmann::json::parse(read_file(home_ + "/twice/robustness.json"));
  ASSERT_EQ(twice["cells"].size(), j["cells"].size());
  for (size_t i = 0; i < j["cells"].size(); ++i)
    EXPECT_NEAR(twice["cells"][i]["auc"].get<double>(), j["cells"][i]["auc"].get<double>(), 1e-9) << i;
}

TEST_F(RobustnessCommand, ScoresA3dRunUnderCtAndMriArtifactsAndRefusesBadFlags) {
  const std::string root = fake_medmnist_root("adrenalmnist3d", 16, 8, 10);
  const std::string run = home_ + "/run3d";
  auto [rc, out] = mednet("train --dataset adrenalmnist3d --widths 2 --epochs 1 --root " + root +
                              " --threads 2 --skip-md5 --out " + run,
                          home_);
  ASSERT_EQ(rc, 0) << out;
  std::tie(rc, out) = mednet("robustness --run " + run + " --skip-md5 --threads 2", home_);
  ASSERT_EQ(rc, 0) << out;
  const auto j = nlohmann::json::parse(read_file(run + "/robustness.json"));
  EXPECT_EQ(j["corruptions"].size(), 8u);
  EXPECT_EQ(j["cells"].size(), 40u);
  EXPECT_EQ(j["parameters"]["motion"]["severities"][4]["at_28"], (std::vector<double>{10, 3, 4}));
  EXPECT_TRUE(contains(j["scale_rule"].get<std::string>(), "S / 28")) << j["scale_rule"];
  EXPECT_TRUE(contains(out, "| ghosting |")) << out;
  expect_usage_error("robustness --run " + home_ + "/missing", "missing");
  expect_usage_error("robustness --run " + run + " --max-images -3", "--max-images");
}

}  // namespace
