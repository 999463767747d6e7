// mednet predict's library: a short run on generated data predicts its own test images, written as
// PNG files, exactly as the evaluation does; damaged and mismatched inputs are reported per file.
#include "mednet/deploy/predict.h"

#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/data/image_file.h"
#include "mednet/data/npy.h"
#include "mednet/engine/evaluate.h"
#include "mednet/train/trainer.h"
#include "support/fixtures.h"

using namespace mednet;

namespace {

// A one-epoch run of a small CNN on a generated RetinaMNIST-format file.
std::string tiny_run(const std::string& root) {
  mednet::testing::write_fake_medmnist(root + "/retinamnist.npz", "retinamnist", 40, 10, 12);
  run::TrainConfig c;
  c.dataset = "retinamnist";
  c.root = root;
  c.epochs = 1;
  c.batch_size = 16;
  c.device = "cpu";
  c.model.name = "cnn";
  c.model.widths = {4};
  c.model.hidden = {4};
  const std::string dir = root + "/run";
  const data::MedMnist m = data::open_medmnist(data::find_dataset("retinamnist"), 28, root, nullptr, false);
  train::Trainer t(c, m, dir, c10::Device(c10::kCPU));
  train::TrainObserver quiet;
  t.run(quiet);
  return dir;
}

}  // namespace

TEST(Predict, OwnFilesScoreAsTheSplitDoesAndBadOnesAreNamed) {
  core::set_threads(2);
  const std::string root = mednet::testing::temp_dir("predict");
  const std::string run_dir = tiny_run(root);
  run::OpenRunOptions o;
  o.root = root;
  o.check_md5 = false;
  run::OpenRun r = run::open_run(run_dir, o);
  std::vector<std::string> paths;
  for (int64_t i = 0; i < 5; ++i) {
    paths.push_back(root + "/img" + std::to_string(i) + ".png");
    data::write_png(paths.back(), r.data.test.images[i]);
  }
  std::ofstream(root + "/broken.png") << "not a png";
  data::save_npy(root + "/volume.npy", torch::zeros({28, 28, 28}, torch::kFloat));
  paths.insert(paths.begin() + 2, root + "/broken.png");
  paths.push_back(root + "/volume.npy");

  const deploy::PredictOutcome p = deploy::predict_files(r, paths, c10::kCPU, 2);
  ASSERT_EQ(p.items.size(), 7u);
  EXPECT_EQ(p.failed, 2u);
  EXPECT_NE(p.items[2].error.find("broken.png"), std::string::npos) << p.items[2].error;
  EXPECT_NE(p.items[6].error.find("volume.npy"), std::string::npos) << p.items[6].error;
  const at::Tensor want =
      engine::predict(*r.model, r.data.test.images.narrow(0, 0, 5), r.info->task, c10::kCPU, 64)
          .to(torch::kDouble);
  for (int64_t i = 0, k = 0; k < 7; ++k) {
    if (!p.items[static_cast<size_t>(k)].error.empty()) continue;
    const auto& got = p.items[static_cast<size_t>(k)].probs;
    ASSERT_EQ(got.size(), 5u);
    for (int64_t c = 0; c < 5; ++c) EXPECT_NEAR(got[static_cast<size_t>(c)], want[i][c].item<double>(), 1e-6);
    EXPECT_EQ(p.items[static_cast<size_t>(k)].predicted, want[i].argmax().item<int64_t>());
    ++i;
  }
  ASSERT_EQ(p.conversions.size(), 1u);
  EXPECT_NE(p.conversions[0].find("none (already 28 px"), std::string::npos) << p.conversions[0];

  const std::string csv = root + "/predictions.csv";
  deploy::write_predictions_csv(csv, p);
  const std::string text = mednet::testing::read_file(csv);
  EXPECT_EQ(text.rfind("# mednet predict", 0), 0u);
  EXPECT_NE(text.find("file,predicted,p_0,p_1,p_2,p_3,p_4,error\n"), std::string::npos)
      << text.substr(0, 300);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 9);  // comment, header, 7 rows

  // The command: the same inputs, exit 1 for the two failures, the others printed.
  const auto [rc, out] =
      mednet::testing::run_command(std::string(MEDNET_BIN) + " predict --run " + run_dir + " --root " + root +
                                   " --skip-md5 --dir " + root + " --out " + root + "/cli.csv");
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("error: " + root + "/broken.png"), std::string::npos) << out;
  EXPECT_NE(out.find("img4.png: "), std::string::npos) << out;
  EXPECT_NE(out.find("5 predicted, 2 failed"), std::string::npos) << out;
  EXPECT_THROW(deploy::collect_inputs({}, root + "/nope"), Error);
  EXPECT_THROW(deploy::collect_inputs({}, ""), Error);
}
