// mednet robustness on the real RetinaMNIST (label: real-data): the Experiment 2A CNN trained briefly,
// then scored under MedMNIST-C's eight RetinaMNIST corruptions; real test pictures are also checked
// against the reference libraries (tests/scripts/medmnistc_reference.py) at their own 28 px.
#include <cstdlib>
#include <fstream>
#include <iostream>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/augment/corruption_registry.h"
#include "mednet/core/runtime.h"
#include "mednet/data/dataset.h"
#include "mednet/data/npy.h"
#include "mednet/trust/robustness_run.h"
#include "support/fixtures.h"

using namespace mednet;

namespace {

TEST(RealData, RetinaCnnUnderMedmnistcCorruptions) {
  const char* root = std::getenv("MEDMNIST_ROOT");
  ASSERT_TRUE(root && *root) << "set MEDMNIST_ROOT to the folder with the official files";
  core::set_threads(0);
  const std::string dir = mednet::testing::real_retina_cnn_run(root, 6, "real_robust_run");
  const data::MedMnist m = data::open_medmnist(data::find_dataset("retinamnist"), 28, root);
  const std::string out = mednet::testing::temp_dir("real_robust_out");
  const trust::RobustnessResult r = trust::robustness_run(dir, out);
  std::cout << r.markdown << "(" << r.seconds << " s)\n";
  EXPECT_EQ(r.images, 400);
  ASSERT_EQ(r.corruptions.size(), 8u);
  EXPECT_TRUE(r.skipped.empty());
  // Corruptions cost AUC on average, and severity 5 costs at least as much as severity 1 for most.
  EXPECT_GT(r.mean_auc_drop, 0.0);
  int monotone = 0;
  for (const auto& s : r.corruptions) {
    double s1 = 0, s5 = 0;
    for (const auto& cell : r.cells) {
      if (cell.corruption != s.corruption) continue;
      if (cell.severity == 1) s1 = cell.auc;
      if (cell.severity == 5) s5 = cell.auc;
    }
    monotone += s5 <= s1 + 0.01;
  }
  EXPECT_GE(monotone, 6);

  // Real fundus pictures through mednet and through the reference libraries, every corruption at s1 and s5.
  const at::Tensor pictures = m.test.images.slice(0, 0, 8).contiguous();
  data::save_npy(out + "/images.npy", pictures);
  nlohmann::json cases = nlohmann::json::array();
  std::vector<std::pair<const augment::CorruptionSpec*, int>> order;
  for (const auto& spec : augment::medmnistc_corruptions("retinamnist"))
    for (int s : {1, 5}) {
      if (spec.kind == "motion_blur" || spec.kind.find("noise") != std::string::npos) continue;  // drawn
      cases.push_back({{"kind", spec.kind}, {"params", augment::parameters_at(spec, s, 28)}, {"seed", 0}});
      order.emplace_back(&spec, s);
    }
  std::ofstream(out + "/cases.json") << cases.dump();
  const auto [rc, text] = mednet::testing::run_command("/usr/bin/python3 " MEDNET_SOURCE_DIR
                                                       "/tests/scripts/medmnistc_reference.py " +
                                                       out + "/images.npy " + out + "/cases.json " + out);
  ASSERT_EQ(rc, 0) << text;
  for (size_t i = 0; i < order.size(); ++i) {
    const at::Tensor ref = data::load_npy(out + "/case" + std::to_string(i) + ".npy").to(torch::kInt);
    std::vector<at::Tensor> mine;
    for (int64_t n = 0; n < pictures.size(0); ++n)
      mine.push_back(augment::corrupt(*order[i].first, order[i].second, pictures[n], 0));
    const at::Tensor diff = (torch::stack(mine).to(torch::kInt) - ref).abs();
    // Defocus: OpenCV's DFT round-off against mednet's exact sums before truncation (corruptions_test.cpp).
    const bool defocus = order[i].first->kind == "defocus_blur";
    EXPECT_LE(diff.max().item<int>(), defocus ? 1 : 0) << order[i].first->name << " s" << order[i].second;
    EXPECT_LE(diff.gt(0).to(torch::kDouble).mean().item<double>(), defocus ? 0.6 : 0.0)
        << order[i].first->name;
  }
}

}  // namespace
