// Every explanation method against an independent implementation: a short run of the plain CNN in 2D and
// 3D is exported with mednet export's library, rebuilt in PyTorch (scripts/mednet_torch.py), and its maps
// are computed from the papers' formulas (tests/scripts/cam_reference.py); mednet's maps must agree.
#include <cmath>
#include <filesystem>
#include <iostream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/data/dataset.h"
#include "mednet/data/npy.h"
#include "mednet/deploy/export.h"
#include "mednet/explain/faithfulness.h"
#include "mednet/explain/methods.h"
#include "mednet/run/open_run.h"
#include "mednet/train/trainer.h"
#include "support/fixtures.h"

using namespace mednet;

namespace {

std::string trained_run(const std::string& root, const std::string& flag) {
  return mednet::testing::tiny_trained_run(root, flag, [](run::TrainConfig& c) {
    c.epochs = 2;
    c.model.widths = {4, 8};
    c.model.hidden = {8};
  });
}

// A short run in ROOT, exported to ROOT/model.safetensors, opened in eval mode; x: its first n test inputs.
run::OpenRun exported_run(const std::string& root, const std::string& flag, int64_t n, at::Tensor& x) {
  const std::string dir = trained_run(root, flag);
  deploy::export_run(dir, deploy::ExportFormat::Safetensors, root + "/model.safetensors");
  run::OpenRunOptions o;
  o.root = root;
  o.check_md5 = false;
  run::OpenRun r = run::open_run(dir, o);
  x = data::to_network_input(r.data.test.images.narrow(0, 0, n)).contiguous();
  r.model->eval();
  return r;
}

TEST(CamReference, EveryMethodMatchesThePyTorchReferenceIn2DAnd3D) {
  core::set_threads(2);
  ASSERT_GE(explain::cam_methods().size(), 13u);
  for (const std::string flag : {"retinamnist", "adrenalmnist3d"}) {
    const std::string root = mednet::testing::temp_dir("cam-reference-" + flag);
    at::Tensor x;
    run::OpenRun r = exported_run(root, flag, 6, x);
    const at::Tensor target = [&] {
      torch::NoGradGuard ng;
      return r.model->forward(x).argmax(1).to(torch::kLong).contiguous();
    }();
    data::save_npy(root + "/x.npy", x);
    data::save_npy(root + "/target.npy", target);
    const auto [rc, out] = mednet::testing::run_command(
        "/usr/bin/python3 " MEDNET_SOURCE_DIR "/tests/scripts/cam_reference.py '" + root +
        "/model.safetensors' '" + root + "/x.npy' '" + root + "/target.npy' '" + root + "/ref' 14 7");
    ASSERT_EQ(rc, 0) << out;
    explain::AttributionOptions ao;  // the defaults, but a larger occlusion patch (see the script's call)
    ao.occlusion_patch = 14;
    ao.occlusion_stride = 7;
    for (const auto& m : explain::cam_methods()) {
      const at::Tensor got =
          explain::make_cam(m.name, *r.model, "", ao)->compute(x, target).maps.to(torch::kDouble);
      const std::string file = root + "/ref." + m.name + ".npy";
      ASSERT_TRUE(std::filesystem::exists(file)) << m.name << " has no reference; " << out;
      const at::Tensor want = data::load_npy(file).to(torch::kDouble);
      ASSERT_EQ(got.sizes(), want.sizes()) << m.name;
      const double diff = (got - want).abs().max().item<double>();
      const at::Tensor a = got.flatten() - got.mean(), b = want.flatten() - want.mean();
      const double corr = (a * b).sum().item<double>() /
                          std::sqrt((a * a).sum().item<double>() * (b * b).sum().item<double>() + 1e-300);
      std::cout << flag << " " << m.name << ": max |difference| " << diff << ", correlation " << corr << "\n";
      EXPECT_LE(diff, 1e-4) << flag << " " << m.name;
      EXPECT_GE(corr, 0.999) << flag << " " << m.name;
      EXPECT_GT(want.max().item<double>(), 0.5) << flag << " " << m.name << ": an empty reference map";
    }
  }
}

TEST(CamReference, MethodNamesAllAndCommaListsAndTheirErrors) {
  EXPECT_EQ(explain::parse_cam_methods("all"), explain::cam_method_names());
  EXPECT_EQ(explain::parse_cam_methods("layercam,gradcam,layercam"),
            (std::vector<std::string>{"layercam", "gradcam"}));
  try {
    explain::parse_cam_methods("gradcam,scorecamx");
    FAIL() << "an unknown method was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("'scorecamx'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("eigencam"), std::string::npos) << e.what();
  }
  EXPECT_THROW(explain::parse_cam_methods(""), Error);
}

}  // namespace

namespace {

TEST(RoadReference, ImputationAndRoadScoresMatchScipyIn2DAnd3D) {
  core::set_threads(2);
  for (const std::string flag : {"retinamnist", "adrenalmnist3d"}) {
    const std::string root = mednet::testing::temp_dir("road-reference-" + flag);
    at::Tensor x;
    run::OpenRun r = exported_run(root, flag, 3, x);
    const auto cam = explain::make_cam("gradcam", *r.model, "")->compute(x);
    data::save_npy(root + "/x.npy", x);
    data::save_npy(root + "/maps.npy", cam.maps);
    data::save_npy(root + "/target.npy", cam.target);
    const auto [rc, out] = mednet::testing::run_command(
        "/usr/bin/python3 " MEDNET_SOURCE_DIR "/tests/scripts/road_reference.py '" + root +
        "/model.safetensors' '" + root + "/x.npy' '" + root + "/maps.npy' '" + root + "/target.npy' '" +
        root + "/ref'");
    ASSERT_EQ(rc, 0) << out;
    // The 40% most relevant positions imputed, as the script does.
    const int64_t positions = cam.maps[0].numel();
    const at::Tensor order =
        std::get<1>(torch::sort(cam.maps.reshape({3, -1}).to(torch::kDouble), /*stable=*/true, 1, true));
    at::Tensor removed = torch::zeros({3, positions}, torch::kBool);
    removed.scatter_(1, order.narrow(1, 0, std::llround(0.4 * static_cast<double>(positions))), true);
    const at::Tensor imputed = explain::noisy_linear_imputation(x, removed.view(cam.maps.sizes()), 0.0, 0);
    const at::Tensor want = data::load_npy(root + "/ref.imputed.npy").to(torch::kDouble);
    const double diff = (imputed.to(torch::kDouble) - want).abs().max().item<double>();
    std::cout << flag << " imputation: max |difference| " << diff << "\n";
    EXPECT_LE(diff, 1e-4) << flag;
    EXPECT_TRUE(torch::equal(imputed.masked_select(~removed.view(cam.maps.sizes()).unsqueeze(1).expand_as(x)),
                             x.masked_select(~removed.view(cam.maps.sizes()).unsqueeze(1).expand_as(x))))
        << flag << ": the kept positions changed";
    const explain::RoadScores s =
        explain::road(*r.model, x, cam.maps, cam.target, {0.2, 0.4, 0.6, 0.8}, 0.0, 0);
    const at::Tensor road_want = data::load_npy(root + "/ref.road.npy").to(torch::kDouble);
    ASSERT_EQ(s.sample_combined.size(), 3u);
    for (int64_t i = 0; i < 3; ++i) {
      std::cout << flag << " ROAD sample " << i << ": " << s.sample_combined[static_cast<size_t>(i)]
                << " against " << road_want[i].item<double>() << "\n";
      EXPECT_NEAR(s.sample_combined[static_cast<size_t>(i)], road_want[i].item<double>(), 1e-4)
          << flag << " " << i;
    }
  }
}

}  // namespace
