// mednet experiment as a user runs it: arms, seeds, summaries, transfer without weights.
#include "app/cli_fixture.h"

using namespace mednet::testing;
namespace fs = std::filesystem;

namespace {

TEST_F(Cli, ExperimentOnAGeneratedChestFileMultiLabelResNetAndPlainTwin) {
  // ChestMNIST (14 labels, multi-label) in the official format; two tiny arms, one seed.
  const std::string root = fake_medmnist_root("chestmnist", 64, 32, 32);
  const std::string file = root + "/exp.json";
  std::ofstream(file) << R"({
    "name": "tiny", "seeds": [5], "gradient_flow": ["res", "plain"],
    "base": {"dataset": "chestmnist", "epochs": 2, "batch_size": 16, "patience": 0, "threads": 2,
             "device": "cpu", "grad_norm_epochs": 1,
             "model": {"name": "resnet18", "widths": [4, 4, 8, 8]}},
    "arms": [{"name": "res", "label": "ResNet-18"},
             {"name": "plain", "label": "plain-18", "config": {"model": {"name": "plain18"},
              "augment": [{"type": "flip", "axes": [1]}, {"type": "translate", "fraction": 0.1}]}}]})";
  const std::string out = home_ + "/exp";
  auto [rc, text] =
      mednet("experiment --config " + file + " --out " + out + " --root " + root + " --skip-md5", home_);
  ASSERT_EQ(rc, 0) << text;
  EXPECT_TRUE(contains(text, "augmenting training batches: flip, translate")) << text;
  for (const char* f : {"summary.md", "summary.json", "experiment.json", "res/seed5/metrics.json",
                        "plain/seed5/best.pt", "res/seed5/grad_norms.csv"}) {
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  }
  const auto summary = nlohmann::json::parse(read_file(out + "/summary.json"));
  ASSERT_EQ(summary["arms"].size(), 2u);
  for (const auto& arm : summary["arms"]) {
    EXPECT_EQ(arm["seeds_finished"], 1);
    EXPECT_TRUE(arm["test_auc_mean"].is_number()) << arm.dump();  // multi-label AUC: mean over 14 labels
  }
  EXPECT_GT(summary["arms"][0]["params"].get<double>(), summary["arms"][1]["params"].get<double>());
  const auto metrics = nlohmann::json::parse(read_file(out + "/res/seed5/metrics.json"));
  EXPECT_EQ(metrics["model"], "resnet18");
  const std::string md = read_file(out + "/summary.md");
  EXPECT_TRUE(contains(md, "| ResNet-18 | chestmnist 28 | resnet18 |")) << md;
  EXPECT_TRUE(contains(md, "AUC change")) << md;
  // 17 convolutions + fc on the depth axis (projection shortcuts left out), first step and epoch 1
  const std::string csv = read_file(out + "/res/seed5/grad_norms.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 2 * 18) << csv;
  EXPECT_TRUE(contains(csv, "0,18,fc.weight,")) << csv;
  if (contains(text, "curves.png")) {
    EXPECT_GT(png_size(out + "/curves.png").first, 0);
    EXPECT_GT(png_size(out + "/gradient_flow.png").first, 0);
  }
  // Running it again trains nothing and rewrites the same table.
  auto [rc2, text2] =
      mednet("experiment --config " + file + " --out " + out + " --root " + root + " --skip-md5", home_);
  EXPECT_EQ(rc2, 0) << text2;
  EXPECT_TRUE(contains(text2, "already finished")) << text2;
  EXPECT_EQ(read_file(out + "/summary.md"), md);
  // a single-run command refuses the experiment file
  std::tie(rc2, text2) = mednet("train --config " + file + " --out " + home_ + "/x", home_);
  EXPECT_EQ(rc2, 2) << text2;
  EXPECT_TRUE(contains(text2, "mednet experiment")) << text2;
}

TEST_F(Cli, TransferExperimentWithoutWeightsSaysRandomInit) {
  // Experiment 2B's own file on a generated RetinaMNIST, 2 epochs, one seed, no ImageNet file.
  const std::string root = fake_medmnist_root("retinamnist", 40, 20, 20);
  const std::string out = home_ + "/exp2b";
  auto [rc, text] = mednet("experiment --config " + std::string(MEDNET_SOURCE_DIR) +
                               "/experiments/exp2b_vgg16_retina.json --out " + out + " --root " + root +
                               " --skip-md5 --seeds 0 --epochs 2",
                           home_);
  ASSERT_EQ(rc, 0) << text;
  EXPECT_TRUE(contains(text, "NO PRETRAINED WEIGHTS")) << text;
  EXPECT_TRUE(contains(text, "features of 60 images cached")) << text;
  const auto frozen = nlohmann::json::parse(read_file(out + "/frozen/seed0/metrics.json"));
  EXPECT_EQ(frozen["backbone"], "random-init");
  EXPECT_EQ(frozen["feature_cache"], true);
  EXPECT_EQ(frozen["trainable_params"], 512 * 256 + 256 + 256 * 5 + 5);
  const auto partial = nlohmann::json::parse(read_file(out + "/partial/seed0/metrics.json"));
  EXPECT_EQ(partial["feature_cache"], false);
  const auto config = nlohmann::json::parse(read_file(out + "/partial/seed0/config.json"));
  EXPECT_EQ(config["transfer"]["freeze"], 3);
  EXPECT_EQ(config["model"]["imagenet_norm"], true);
  const std::string md = read_file(out + "/summary.md");
  EXPECT_TRUE(contains(md, "| VGG16, frozen backbone | random-init | 132613 |")) << md;
  EXPECT_TRUE(contains(md, "epochs to 95%")) << md;
  const auto summary = nlohmann::json::parse(read_file(out + "/summary.json"));
  EXPECT_TRUE(summary["arms"][1]["epochs_to_95pct_best_val_auc_mean"].is_number()) << summary.dump();
}

}  // namespace
