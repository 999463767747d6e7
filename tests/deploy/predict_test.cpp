// mednet predict's library: a short run on generated data predicts its own test images, written as
// PNG files, exactly as the evaluation does; damaged and mismatched inputs are reported per file.
#include "mednet/deploy/predict.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/data/image_file.h"
#include "mednet/data/nifti_file.h"
#include "mednet/data/npy.h"
#include "mednet/engine/evaluate.h"
#include "mednet/run/metrics_file.h"
#include "mednet/run/split_results.h"
#include "mednet/train/trainer.h"
#include "mednet/trust/trust_run.h"
#include "support/fixtures.h"

using namespace mednet;

namespace {

// A one-epoch run of a small CNN on a generated file of the dataset's format; with flips, the run is
// scored with its test-time flips (config "tta").
std::string tiny_run(const std::string& root, const std::string& flag = "retinamnist", bool flips = false) {
  return mednet::testing::tiny_trained_run(root, flag, [&](run::TrainConfig& c) {
    if (!flips) return;
    c.augment = {augment::TransformSpec{"flip", 0.5, 0, {0, 1}}};
    c.tta = "flips";
  });
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

  const deploy::PredictOutcome p = deploy::predict_files(r, paths, c10::kCPU, [] {
    deploy::PredictOptions o;
    o.batch_size = 2;
    return o;
  }());
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

// A run scored with test-time flips predicts a person's file as its result file scored the same image
// (before, predict used one view and then applied a temperature fitted on the flipped probabilities);
// with the out-of-distribution check on, a run without flips takes its probabilities from the check's
// forward pass, and they are the same as without the check.
TEST(Predict, ScoresWithTheRunsTestTimeFlipsAndTheCheckChangesNoProbability) {
  core::set_threads(2);
  const std::string root = mednet::testing::temp_dir("predict-tta");
  trust::TrustOptions to;
  to.root = root;
  to.check_md5 = false;
  to.ood_sets.synthetic = 8;
  for (const bool flips : {true, false}) {
    const std::string run_dir = tiny_run(root + (flips ? "/flips" : "/plain"), "retinamnist", flips);
    to.root = root + (flips ? "/flips" : "/plain");
    trust::trust_run(run_dir, to);
    ASSERT_TRUE(std::filesystem::exists(run_dir + "/ood.safetensors"));
    run::OpenRunOptions o;
    o.root = to.root;
    o.check_md5 = false;
    run::OpenRun r = run::open_run(run_dir, o);
    std::vector<std::string> paths;
    for (int64_t i = 0; i < 6; ++i) {
      paths.push_back(to.root + "/img" + std::to_string(i) + ".png");
      data::write_png(paths.back(), r.data.test.images[i]);
    }
    deploy::PredictOptions with_check;
    with_check.calibrated = false;
    with_check.batch_size = 4;
    deploy::PredictOptions without_check = with_check;
    without_check.ood_score = "";
    const deploy::PredictOutcome a = deploy::predict_files(r, paths, c10::kCPU, with_check);
    const deploy::PredictOutcome b = deploy::predict_files(r, paths, c10::kCPU, without_check);
    const at::Tensor scored =
        run::read_split_probs(run_dir, run::read_metrics_json(run_dir + "/metrics.json"), "test");
    const at::Tensor one_view =
        engine::predict(*r.model, r.data.test.images.narrow(0, 0, 6), r.info->task, c10::kCPU, 64)
            .to(torch::kDouble);
    double off_one_view = 0;
    ASSERT_EQ(a.items.size(), 6u);
    for (size_t k = 0; k < 6; ++k) {
      ASSERT_TRUE(a.items[k].error.empty()) << a.items[k].error;
      EXPECT_NE(a.items[k].ood_score, 0.0);
      EXPECT_EQ(b.items[k].ood_score, 0.0);
      for (size_t c = 0; c < 5; ++c) {
        const auto i = static_cast<int64_t>(k);
        const auto j = static_cast<int64_t>(c);
        EXPECT_NEAR(a.items[k].probs[c], scored[i][j].item<double>(), 1e-5) << k << "," << c;
        EXPECT_NEAR(a.items[k].probs[c], b.items[k].probs[c], 1e-6) << k << "," << c;
        off_one_view = std::max(off_one_view, std::abs(a.items[k].probs[c] - one_view[i][j].item<double>()));
      }
    }
    // The flipped views move the probabilities, so the comparison above can tell them apart.
    if (flips)
      EXPECT_GT(off_one_view, 1e-4);
    else
      EXPECT_LT(off_one_view, 1e-6);
  }
}

TEST(Predict, CamMapsOverlayPicturesAndLieOnAVolumesOwnGrid) {
  core::set_threads(2);
  if (!data::nifti_available()) GTEST_SKIP() << "built without libnifti2";
  const std::string root = mednet::testing::temp_dir("predict-cam");
  run::OpenRunOptions o;
  o.root = root;
  o.check_md5 = false;

  // 2D: one overlay PNG per picture, the picture enlarged to at least 256 px.
  const std::string run2d = tiny_run(root + "/2d");
  o.root = root + "/2d";
  run::OpenRun r2 = run::open_run(run2d, o);
  data::write_png(root + "/a.png", r2.data.test.images[0]);
  data::write_png(root + "/b.png", torch::randint(0, 255, {3, 50, 40}, torch::kUInt8));
  deploy::PredictOptions po;
  po.cam = "gradcam";
  po.cam_dir = root + "/maps2d";
  const deploy::PredictOutcome p2 =
      deploy::predict_files(r2, {root + "/a.png", root + "/b.png", root + "/a.png"}, c10::kCPU, po);
  ASSERT_EQ(p2.failed, 0u);
  EXPECT_EQ(p2.maps_failed, 0u);
  ASSERT_EQ(p2.items[0].maps, std::vector<std::string>{root + "/maps2d/a.gradcam.png"});
  ASSERT_EQ(p2.items[2].maps, std::vector<std::string>{root + "/maps2d/a_2.gradcam.png"});  // same stem again
  EXPECT_EQ(data::read_png(root + "/maps2d/a.gradcam.png").sizes(), (std::vector<int64_t>{3, 280, 280}));
  EXPECT_EQ(data::read_png(root + "/maps2d/b.gradcam.png").sizes(), (std::vector<int64_t>{3, 300, 240}));

  // 3D: a NIfTI input of another size; its map has the input's grid and affine, values in [0, 1].
  const std::string run3d = tiny_run(root + "/3d", "adrenalmnist3d");
  o.root = root + "/3d";
  run::OpenRun r3 = run::open_run(run3d, o);
  data::NiftiGeometry g;
  g.sform_code = 1;
  g.sform = {0.8, 0, 0, -12, 0, 0.8, 0, 7, 0, 0, 1.2, 3, 0, 0, 0, 1};
  g.spacing = {0.8, 0.8, 1.2};
  const at::Tensor scan = torch::rand({20, 36, 40}) * 1000 - 200;  // [nz, ny, nx], CT-like range
  data::write_nifti(root + "/scan.nii.gz", scan, g);
  po.cam = "gradcampp";
  po.cam_dir = root + "/maps3d";
  const deploy::PredictOutcome p3 =
      deploy::predict_files(r3, {root + "/scan.nii.gz", root + "/a.png"}, c10::kCPU, po);
  EXPECT_EQ(p3.failed, 1u);  // the picture, for a 3D model
  EXPECT_NE(p3.items[1].error.find("a 2D picture given to a 3D model"), std::string::npos)
      << p3.items[1].error;
  ASSERT_TRUE(p3.items[0].error.empty()) << p3.items[0].error;
  ASSERT_EQ(p3.items[0].maps.size(), 2u);
  EXPECT_EQ(p3.items[0].maps[0], root + "/maps3d/scan.gradcampp.nii.gz");
  const data::NiftiVolume map = data::read_nifti(p3.items[0].maps[0]);
  EXPECT_EQ(map.data.sizes(), (std::vector<int64_t>{20, 36, 40}));
  for (size_t i = 0; i < 16; ++i) EXPECT_NEAR(map.affine[i], g.sform[i], 1e-6) << i;
  EXPECT_GE(map.data.min().item<float>(), 0.0f);
  EXPECT_LE(map.data.max().item<float>(), 1.0f);
  ASSERT_EQ(p3.items[0].peak.size(), 3u);
  const auto& pk = p3.items[0].peak;
  EXPECT_FLOAT_EQ(map.data[pk[2]][pk[1]][pk[0]].item<float>(), map.data.max().item<float>());
  const at::Tensor planes = data::read_png(root + "/maps3d/scan.gradcampp.planes.png");
  // Axial 36x40 and coronal 20x40 enlarged 7 times, sagittal 20x36 8 times, with two 8-px gaps.
  EXPECT_EQ(planes.sizes(), (std::vector<int64_t>{3, 252, 280 + 8 + 280 + 8 + 288}));

  // The command prints where each map went.
  const auto [rc, out] = mednet::testing::run_command(std::string(MEDNET_BIN) + " predict --run " + run3d +
                                                      " --root " + root + "/3d --skip-md5 " + root +
                                                      "/scan.nii.gz --cam gradcam --out " + root + "/p3.csv");
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("map " + root + "/p3_cam/scan.gradcam.nii.gz (peak at voxel x "), std::string::npos)
      << out;
  EXPECT_NE(out.find("maps (gradcam) in " + root + "/p3_cam: 1 written, 0 failed"), std::string::npos) << out;
}
