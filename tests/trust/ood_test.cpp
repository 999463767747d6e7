// trust/ood*: the out-of-distribution scores, thresholds and separation checked by hand and against an
// independent NumPy/SciPy implementation (tests/scripts/ood_reference.py); the sets a run is tested
// against, built from generated files; ood.safetensors as a round trip, and damaged files refused.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/data/dataset.h"
#include "mednet/data/npy.h"
#include "mednet/models/registry.h"
#include "mednet/models/safetensors.h"
#include "mednet/trust/ood.h"
#include "mednet/trust/ood_file.h"
#include "mednet/trust/ood_sets.h"
#include "support/fixtures.h"

using namespace mednet;
using data::Task;

namespace {

// Features of three classes around different centres in 6 dimensions (one class per row of labels),
// logits that lean towards the class.
std::pair<trust::OodFeatures, at::Tensor> clustered(int64_t n, double shift, uint64_t seed) {
  torch::manual_seed(seed);
  const at::Tensor y = torch::randint(0, 3, {n, 1}, torch::kLong);
  const at::Tensor centres = torch::randn({3, 6}, torch::kDouble) * 3;
  trust::OodFeatures f;
  f.features = centres.index_select(0, y.reshape({-1})) + torch::randn({n, 6}, torch::kDouble) + shift;
  f.logits = torch::one_hot(y.reshape({-1}), 3).to(torch::kDouble) * 2 + torch::randn({n, 3}, torch::kDouble);
  return {f, y};
}

}  // namespace

TEST(Ood, SeparationAndThresholdByHand) {
  // in {1, 2, 3}, out {0, 2}: of the 6 pairs, 4 are ordered right and one is tied (counts half).
  const trust::Separation s = trust::separation(torch::tensor({1.0, 2.0, 3.0}, torch::kDouble),
                                                torch::tensor({0.0, 2.0}, torch::kDouble));
  EXPECT_NEAR(s.auroc, 4.5 / 6, 1e-12);
  EXPECT_NEAR(s.fpr95, 0.5, 1e-12);  // the threshold passing 95% of in is 1: out's 2 passes it
  EXPECT_EQ(trust::pass_threshold(torch::arange(100, torch::kDouble)), 5.0);  // 95 of 100 pass
  EXPECT_THROW(trust::pass_threshold(torch::empty({0}, torch::kDouble)), Error);
  EXPECT_THROW(trust::check_ood_score("odin"), Error);
  trust::OodFeatures f;
  f.logits = torch::tensor({{0.0, 0.0}}, torch::kDouble);
  EXPECT_NEAR(trust::ood_score(Task::MultiClass, "msp", f)[0].item<double>(), 0.5, 1e-12);
  EXPECT_NEAR(trust::ood_score(Task::MultiClass, "energy", f)[0].item<double>(), std::log(2.0), 1e-12);
  EXPECT_THROW(trust::ood_score(Task::MultiClass, "mahalanobis", f), Error);  // it needs a fit
}

TEST(Ood, AgreesWithTheNumpyReference) {
  const std::string dir = mednet::testing::temp_dir("ood_ref");
  for (const auto& [task, name] : std::vector<std::pair<Task, std::string>>{
           {Task::MultiClass, "multiclass"}, {Task::MultiLabel, "multilabel"}}) {
    const auto [train, train_y] = clustered(300, 0, 1);
    const auto [val, val_y] = clustered(101, 0, 2);
    const auto [in, in_y] = clustered(150, 0, 3);
    const auto [out, out_y] = clustered(80, 1.5, 4);
    data::save_npy(dir + "/train_f.npy", train.features);
    data::save_npy(dir + "/train_y.npy", train_y);
    for (const auto& [prefix, f] :
         std::vector<std::pair<std::string, trust::OodFeatures>>{{"val", val}, {"in", in}, {"out", out}}) {
      data::save_npy(dir + "/" + prefix + "_z.npy", f.logits);
      data::save_npy(dir + "/" + prefix + "_f.npy", f.features);
    }
    const auto [rc, text] = mednet::testing::run_command(
        "/usr/bin/python3 " MEDNET_SOURCE_DIR "/tests/scripts/ood_reference.py " + name + " " + dir);
    if (rc != 0 && text.find("No module named") != std::string::npos)
      GTEST_SKIP() << "SKIPPED: python3-numpy or python3-scipy is not installed: " << text;
    ASSERT_EQ(rc, 0) << text;
    const auto ref = nlohmann::json::parse(text.substr(text.find('{')));
    const trust::MahalanobisFit fit = trust::fit_mahalanobis(task, train.features, train_y);
    EXPECT_EQ(fit.means.size(0), task == Task::MultiLabel ? 1 : 3);
    for (const char* s : trust::kOodScores) {
      const at::Tensor in_scores = trust::ood_score(task, s, in, fit);
      const at::Tensor out_scores = trust::ood_score(task, s, out, fit);
      const auto& r = ref[s];
      for (int64_t i = 0; i < 5; ++i)
        EXPECT_NEAR(in_scores[i].item<double>(), r["in"][i].get<double>(), 1e-6) << name << " " << s;
      EXPECT_NEAR(trust::pass_threshold(trust::ood_score(task, s, val, fit)), r["threshold"].get<double>(),
                  1e-6)
          << name << " " << s;
      const trust::Separation sep = trust::separation(in_scores, out_scores);
      EXPECT_NEAR(sep.auroc, r["auroc"].get<double>(), 1e-9) << name << " " << s;
      EXPECT_NEAR(sep.fpr95, r["fpr95"].get<double>(), 1e-9) << name << " " << s;
    }
    // The shifted cloud is far from every class mean: Mahalanobis tells it apart.
    EXPECT_GT(trust::separation(trust::ood_score(task, "mahalanobis", in, fit),
                                trust::ood_score(task, "mahalanobis", out, fit))
                  .auroc,
              0.9)
        << name;
  }
}

TEST(Ood, FeaturesAreTheLastStagePooledBesideTheLogits) {
  const data::DatasetInfo& info = data::find_dataset("retinamnist");
  models::ModelSpec spec;
  spec.widths = {4, 8};
  spec.hidden = {8};
  models::Classifier m = models::make_model(spec, data::input_shape(info, 28));
  m->train();
  const at::Tensor images = torch::randint(0, 256, {5, 3, 28, 28}, torch::kByte);
  const trust::OodFeatures f = trust::ood_features(*m, images, c10::kCPU, 2);
  EXPECT_TRUE(m->is_training());  // the mode is restored
  ASSERT_EQ(f.logits.sizes(), (std::vector<int64_t>{5, 5}));
  ASSERT_EQ(f.features.sizes(), (std::vector<int64_t>{5, 8}));
  m->eval();
  torch::NoGradGuard no_grad;
  const auto [map, logits] = m->forward_features(data::to_network_input(images));
  EXPECT_TRUE(torch::allclose(f.features, map.mean({2, 3}).to(torch::kDouble), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(f.logits, logits.to(torch::kDouble), 1e-5, 1e-6));
}

TEST(OodSets, NoiseBlankAndEveryOtherFileShapedLikeTheRun) {
  const std::string dir = mednet::testing::temp_dir("ood_sets");
  mednet::testing::write_fake_medmnist(dir + "/retinamnist.npz", "retinamnist", 10, 5, 12);
  mednet::testing::write_fake_medmnist(dir + "/breastmnist.npz", "breastmnist", 10, 5, 7);
  mednet::testing::write_fake_medmnist(dir + "/adrenalmnist3d.npz", "adrenalmnist3d", 10, 5, 6);
  std::ofstream(dir + "/pathmnist.npz") << "not a zip";
  trust::OodSetOptions o;
  o.synthetic = 9;
  o.check_md5 = false;
  std::vector<std::string> skipped;
  const auto sets2d = trust::ood_sets(data::find_dataset("retinamnist"), 28, dir, o,
                                      [&](const std::string& why) { skipped.push_back(why); });
  ASSERT_EQ(sets2d.size(), 4u);  // noise, blank, BreastMNIST and AdrenalMNIST3D (catalog order)
  EXPECT_EQ(sets2d[0].name, "uniform noise");
  EXPECT_EQ(sets2d[1].name, "blank");
  EXPECT_EQ(sets2d[2].name, "BreastMNIST");
  EXPECT_EQ(sets2d[3].name, "AdrenalMNIST3D");
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("pathmnist.npz"), std::string::npos) << skipped[0];
  for (const auto& s : sets2d) {
    EXPECT_EQ(s.images.dtype(), torch::kByte) << s.name;
    EXPECT_EQ(s.images.size(1), 3) << s.name;
    EXPECT_EQ(s.images.size(2), 28) << s.name;
    EXPECT_EQ(s.images.dim(), 4) << s.name;
  }
  EXPECT_EQ(sets2d[2].images.size(0), 7);
  EXPECT_NE(sets2d[2].source.find("gray repeated to RGB"), std::string::npos) << sets2d[2].source;
  EXPECT_EQ(sets2d[3].images.size(0), 6);
  EXPECT_NE(sets2d[3].source.find("middle slices"), std::string::npos) << sets2d[3].source;
  const at::Tensor blank = sets2d[1].images.to(torch::kInt);
  EXPECT_EQ(blank[0].max().item<int>(), 0);
  EXPECT_EQ(blank[8].min().item<int>(), 255);
  EXPECT_EQ((blank.amax({1, 2, 3}) - blank.amin({1, 2, 3})).max().item<int>(), 0);  // one intensity each
  const auto sets3d = trust::ood_sets(data::find_dataset("adrenalmnist3d"), 28, dir, o);
  ASSERT_EQ(sets3d.size(), 4u);  // noise, blank, RetinaMNIST, BreastMNIST
  EXPECT_EQ(sets3d[2].name, "RetinaMNIST");
  const at::Tensor retina = sets3d[2].images;
  ASSERT_EQ(retina.sizes(), (std::vector<int64_t>{12, 1, 28, 28, 28}));
  EXPECT_TRUE(torch::equal(retina.select(2, 0), retina.select(2, 27)));  // repeated along depth
}

TEST(OodFile, RoundTripAndDamagedFilesRefused) {
  const std::string dir = mednet::testing::temp_dir("ood_file");
  trust::OodDetector d;
  d.fit.means = torch::randn({3, 4}, torch::kDouble);
  d.fit.precision = torch::eye(4, torch::kDouble) * 0.5;
  d.thresholds = {{"msp", 0.4}, {"energy", 1.25}, {"mahalanobis", -30.5}};
  d.fitted_size = 77;
  trust::write_ood_file(dir + "/ood.safetensors", d);
  const auto back = trust::read_ood_file(dir + "/ood.safetensors");
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(torch::equal(back->fit.means, d.fit.means));
  EXPECT_TRUE(torch::equal(back->fit.precision, d.fit.precision));
  EXPECT_EQ(back->thresholds, d.thresholds);
  EXPECT_EQ(back->fitted_size, 77);
  EXPECT_EQ(back->pass_rate, trust::kOodPassRate);
  EXPECT_FALSE(trust::read_ood_file(dir + "/none.safetensors").has_value());
  EXPECT_TRUE(torch::equal(trust::ood_passes(d, "energy", torch::tensor({1.0, 1.25, 2.0}, torch::kDouble)),
                           torch::tensor({false, true, true})));

  const auto expect_damaged = [&](const trust::OodDetector& bad, const std::string& part,
                                  const std::string& why = " is damaged") {
    trust::write_ood_file(dir + "/bad.safetensors", bad);
    try {
      trust::read_ood_file(dir + "/bad.safetensors");
      ADD_FAILURE() << "accepted a file with " << part;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(dir + "/bad.safetensors" + why), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  trust::OodDetector bad = d;
  bad.thresholds.erase("energy");
  expect_damaged(bad, "energy");
  bad = d;
  bad.thresholds["msp"] = std::nan("");
  expect_damaged(bad, "msp");
  bad = d;
  bad.fit.precision = torch::eye(3, torch::kDouble);
  expect_damaged(bad, "do not fit together");
  bad = d;
  bad.fit.means = torch::full({3, 4}, std::nan(""), torch::kDouble);
  expect_damaged(bad, "non-finite values", ": tensor 'means'");  // as every safetensors file is read
}
