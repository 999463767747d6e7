// augment/corruptions and corruption_registry: each MedMNIST-C corruption against the libraries
// MedMNIST-C calls (tests/scripts/medmnistc_reference.py: PIL, OpenCV, ImageMagick through Wand,
// torchvision, NumPy formulas on the same torch draws), on fixed pictures at 28 and 224 px, colour and grey.
#include <algorithm>
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/augment/corruption_registry.h"
#include "mednet/augment/corruptions.h"
#include "mednet/core/error.h"
#include "mednet/data/npy.h"
#include "support/fixtures.h"

using namespace mednet;

namespace {

// Pictures with smooth gradients, flat areas (a black disc border as in fundus photos, a saturated
// corner) and fine texture, so rounding at flat levels, edges and clipping are all exercised.
at::Tensor fixture_pictures(int64_t n, int64_t c, int64_t side) {
  torch::manual_seed(11);
  const at::Tensor yy = torch::linspace(-1, 1, side).view({side, 1}).expand({side, side});
  const at::Tensor xx = torch::linspace(-1, 1, side).view({1, side}).expand({side, side});
  std::vector<at::Tensor> out;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<at::Tensor> chans;
    for (int64_t ch = 0; ch < c; ++ch) {
      at::Tensor v = 120 + 80 * torch::sin(3.0 * xx * (ch + 1) + 2.0 * yy * (i + 1)) +
                     25 * torch::rand({side, side}) * (i % 2);
      v = torch::where(xx * xx + yy * yy > 0.85, torch::zeros_like(v), v);
      v = torch::where((xx > 0.6) & (yy < -0.6) & (i == 0), torch::full_like(v, 255), v);
      chans.push_back(v.clamp(0, 255).round());
    }
    out.push_back(torch::stack(chans));
  }
  return torch::stack(out).to(torch::kUInt8);
}

struct Case {
  std::string kind;
  std::vector<double> params;
  uint64_t seed = 0;
  double max_diff_share = 0;   // share of values allowed to differ by 1 (see registry_cases)
  bool expect_change = false;  // the corruption must change the pictures
};

at::Tensor apply_case(const Case& k, const at::Tensor& img, uint64_t seed) {
  const auto& p = k.params;
  if (k.kind == "pixelate") return augment::pixelate(img, p[0]);
  if (k.kind == "jpeg") return augment::jpeg_compression(img, static_cast<int>(p[0]));
  if (k.kind == "gaussian_noise") return augment::gaussian_noise(img, p[0], seed);
  if (k.kind == "speckle_noise") return augment::speckle_noise(img, p[0], seed);
  if (k.kind == "impulse_noise") return augment::impulse_noise(img, p[0], seed);
  if (k.kind == "shot_noise") return augment::shot_noise(img, p[0], seed);
  if (k.kind == "defocus_blur") return augment::defocus_blur(img, p[0], p[1]);
  if (k.kind == "motion_blur") return augment::motion_blur(img, p[0], p[1], p[2]);
  if (k.kind == "gaussian_blur") return augment::gaussian_blur(img, static_cast<int>(p[0]), p[1]);
  if (k.kind == "brightness") return augment::brightness(img, p[0]);
  if (k.kind == "contrast") return augment::contrast(img, p[0]);
  if (k.kind == "gamma") return augment::gamma_correction(img, p[0]);
  if (k.kind == "saturate") return augment::saturate(img, p[0]);
  if (k.kind == "zoom_blur") return augment::zoom_blur(img, augment::numpy_arange(p[0], p[1], p[2]));
  if (k.kind == "black_corner") return augment::black_corner(img, p[0]);
  if (k.kind == "bubble") {
    std::vector<augment::Bubble> list;
    for (size_t i = 1; i + 2 < p.size(); i += 3)
      list.push_back({static_cast<int>(p[i]), static_cast<int>(p[i + 1]), static_cast<int>(p[i + 2])});
    return augment::bubble(img, list, static_cast<int>(p[0]));
  }
  ADD_FAILURE() << "no case " << k.kind;
  return img;
}

void check_against_reference(const at::Tensor& images, const std::vector<Case>& cases,
                             const std::string& tag) {
  const std::string dir = mednet::testing::temp_dir("medmnistc_" + tag);
  data::save_npy(dir + "/images.npy", images);
  nlohmann::json spec = nlohmann::json::array();
  for (const Case& k : cases) spec.push_back({{"kind", k.kind}, {"params", k.params}, {"seed", k.seed}});
  std::ofstream(dir + "/cases.json") << spec.dump();
  const auto [rc, out] = mednet::testing::run_command("/usr/bin/python3 " MEDNET_SOURCE_DIR
                                                      "/tests/scripts/medmnistc_reference.py " +
                                                      dir + "/images.npy " + dir + "/cases.json " + dir);
  if (rc != 0 && out.find("No module named") != std::string::npos)
    GTEST_SKIP() << "SKIPPED: a reference library is missing (make deps-test installs them): " << out;
  ASSERT_EQ(rc, 0) << out;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& k = cases[i];
    const at::Tensor ref = data::load_npy(dir + "/case" + std::to_string(i) + ".npy");
    std::vector<at::Tensor> mine;
    for (int64_t n = 0; n < images.size(0); ++n) mine.push_back(apply_case(k, images[n], k.seed + n));
    const at::Tensor got = torch::stack(mine);
    ASSERT_EQ(got.sizes(), ref.sizes()) << tag << " " << k.kind;
    const at::Tensor diff = (got.to(torch::kInt) - ref.to(torch::kInt)).abs();
    const int64_t max_diff = diff.max().item<int>();
    const double share = diff.gt(0).to(torch::kDouble).mean().item<double>();
    EXPECT_LE(max_diff, k.max_diff_share > 0 ? 1 : 0) << tag << " " << k.kind << " " << k.params[0];
    EXPECT_LE(share, k.max_diff_share) << tag << " " << k.kind << " " << k.params[0];
    // A corruption that did nothing would pass trivially: the strong cases must change the pictures.
    if (k.expect_change)
      EXPECT_GT((got.to(torch::kInt) - images.to(torch::kInt)).abs().sum().item<int64_t>(), 0)
          << tag << " " << k.kind;
  }
}

// The registry's parameters at side `side` for every kind, severities 1 and 5.
std::vector<Case> registry_cases(const std::string& flag, int side) {
  std::vector<Case> cases;
  uint64_t seed = 100;
  for (const augment::CorruptionSpec& c : augment::medmnistc_corruptions(flag)) {
    if (!c.implemented) continue;
    for (int s : {1, 5}) {
      Case k{c.kind, augment::parameters_at(c, s, side), seed++};
      if (k.kind == "motion_blur") k.params.push_back(s == 1 ? 30.0 : -17.0);
      if (k.kind == "bubble") {  // the bubbles drawn at this side, given to both sides as numbers
        const auto drawn =
            augment::draw_bubbles(side, static_cast<int>(k.params[0]), static_cast<int>(k.params[1]), k.seed);
        k.params = {static_cast<double>(augment::bubble_border(side))};
        for (const auto& b : drawn) k.params.insert(k.params.end(), {1.0 * b.radius, 1.0 * b.x, 1.0 * b.y});
      }
      // OpenCV correlates a kernel this large through the DFT; its round-off moves sums that sit on an
      // integer below it before MedMNIST-C truncates, so about half the pixels of a flat area come out one
      // lower than the exact sum mednet computes. Never more than 1.
      if (k.kind == "defocus_blur") k.max_diff_share = 0.6;
      // Severity 5 changes every picture, except torchvision's Gaussian blur below 224 px: its scaled sigma
      // (at most 0.55 px at 64 px) moves no pixel by half a level.
      k.expect_change = s == 5 && !(k.kind == "gaussian_blur" && side < 224);
      cases.push_back(k);
    }
  }
  return cases;
}

}  // namespace

TEST(Corruptions, MatchMedmnistcOnColourPicturesAt28Px) {
  check_against_reference(fixture_pictures(4, 3, 28), registry_cases("retinamnist", 28), "rgb28");
}

TEST(Corruptions, MatchMedmnistcOnColourPicturesAt224Px) {
  check_against_reference(fixture_pictures(2, 3, 224), registry_cases("retinamnist", 224), "rgb224");
}

TEST(Corruptions, MatchMedmnistcOnGreyPictures) {
  // ChestMNIST's list holds every per-pixel kind (impulse, shot, gamma) and torchvision's Gaussian blur.
  std::vector<Case> cases = registry_cases("chestmnist", 28);
  for (Case k : registry_cases("breastmnist", 28))
    if (k.kind == "motion_blur" || k.kind == "brightness") cases.push_back(k);
  check_against_reference(fixture_pictures(4, 1, 28), cases, "grey28");
  check_against_reference(fixture_pictures(2, 1, 64), registry_cases("chestmnist", 64), "grey64");
}

// PathMNIST's and BloodMNIST's saturation and bubbles, DermaMNIST's zoom blur and black corners, at 28, 64
// and 224 px; a flat grey picture joins the fixtures so the dark corners always show.
TEST(Corruptions, MatchMedmnistcOnMicroscopyAndDermatoscopyPictures) {
  for (int64_t side : {28, 64, 224}) {
    const at::Tensor images =
        torch::cat({fixture_pictures(side == 224 ? 1 : 3, 3, side),
                    torch::full({1, 3, side, side}, 200, torch::TensorOptions().dtype(torch::kUInt8))});
    std::vector<Case> cases;
    for (const char* flag : {"pathmnist", "bloodmnist", "dermamnist"})
      for (const Case& k : registry_cases(flag, static_cast<int>(side)))
        if (k.kind == "saturate" || k.kind == "zoom_blur" || k.kind == "black_corner" || k.kind == "bubble")
          cases.push_back(k);
    ASSERT_EQ(cases.size(), 12u);
    check_against_reference(images, cases, "micro" + std::to_string(side));
    check_against_reference(images.narrow(1, 0, 1).contiguous(),
                            {cases[2], cases[3]},  // PathMNIST's bubbles on grey pictures
                            "microgrey" + std::to_string(side));
  }
  // NumPy's arange, value for value (np.arange(1, 1.16, 0.01) ends at 1.1500000000000001; 1.11 is kept)
  const std::vector<double> a = augment::numpy_arange(1, 1.16, 0.01);
  ASSERT_EQ(a.size(), 16u);
  EXPECT_EQ(a.back(), 1.1500000000000001);
  EXPECT_EQ(augment::numpy_arange(1, 1.11, 0.01).size(), 12u);
  EXPECT_EQ(augment::numpy_arange(1, 1.31, 0.03).size(), 11u);
  // the draws: 7 to 25 bubbles of PathMNIST's severity 5, radii 3-17 at 224 px, inside the picture
  for (int side : {28, 224}) {
    const auto drawn = augment::draw_bubbles(side, 17, 25, 3);
    EXPECT_GE(drawn.size(), 7u);
    EXPECT_LE(drawn.size(), 25u);
    for (const auto& b : drawn) {
      EXPECT_GE(b.radius, side == 28 ? 1 : 3);
      EXPECT_LE(b.radius, side == 28 ? 2 : 17);
      EXPECT_GE(b.x, b.radius);
      EXPECT_LE(b.x, side - b.radius);
    }
  }
  EXPECT_EQ(augment::bubble_border(28), 0);
  EXPECT_EQ(augment::bubble_border(224), 2);
  // a grey picture has no saturation to raise
  const at::Tensor grey = fixture_pictures(1, 1, 28)[0];
  EXPECT_TRUE(torch::equal(augment::saturate(grey, 0.2), grey));
}

TEST(CorruptionRegistry, HoldsMedmnistcsDatasetsWithFiveSeveritiesEach) {
  for (const std::string flag :
       {"pathmnist", "chestmnist", "dermamnist", "octmnist", "pneumoniamnist", "retinamnist", "breastmnist",
        "bloodmnist", "tissuemnist", "organamnist", "organcmnist", "organsmnist"}) {
    const auto& list = augment::medmnistc_corruptions(flag);
    ASSERT_FALSE(list.empty()) << flag;
    for (const auto& c : list) EXPECT_EQ(c.severities.size(), 5u) << flag << " " << c.name;
  }
  EXPECT_TRUE(augment::medmnistc_corruptions("adrenalmnist3d").empty());
  const auto& retina = augment::medmnistc_corruptions("retinamnist");
  ASSERT_EQ(retina.size(), 8u);
  EXPECT_EQ(retina[4].name, "defocus_blur");
  // The registry lists a sixth defocus severity for RetinaMNIST; severity 5 is its fifth entry.
  EXPECT_EQ(augment::parameters_at(retina[4], 5, 224), (std::vector<double>{8, 0.5}));
  EXPECT_EQ(augment::parameters_at(retina[4], 5, 28), (std::vector<double>{1, 0.0625}));
  EXPECT_EQ(augment::parameters_at(retina[0], 3, 28),
            (std::vector<double>{0.5}));  // pixelate keeps its factor
  EXPECT_THROW(augment::parameters_at(retina[0], 6, 28), Error);
  const auto& path = augment::medmnistc_corruptions("pathmnist");
  const auto stain =
      std::find_if(path.begin(), path.end(), [](const auto& c) { return c.name == "stain_deposit"; });
  ASSERT_NE(stain, path.end());
  EXPECT_FALSE(stain->implemented);  // MedMNIST-C draws stains from ink masks shipped with its package
  EXPECT_THROW(augment::corrupt(*stain, 1, fixture_pictures(1, 3, 28)[0], 0), Error);
  EXPECT_TRUE(path.back().implemented);  // bubble
}

TEST(CorruptionRegistry, OneSeedGivesOnePicture) {
  const at::Tensor img = fixture_pictures(1, 3, 28)[0];
  for (const auto& c : augment::medmnistc_corruptions("retinamnist")) {
    const at::Tensor a = augment::corrupt(c, 3, img, 5), b = augment::corrupt(c, 3, img, 5);
    EXPECT_TRUE(torch::equal(a, b)) << c.name;
    EXPECT_EQ(a.sizes(), img.sizes()) << c.name;
    if (c.kind == "gaussian_noise" || c.kind == "motion_blur")
      EXPECT_FALSE(torch::equal(a, augment::corrupt(c, 3, img, 6))) << c.name;
  }
}

TEST(CorruptionRegistry, SeverityRaisesTheDamage) {
  const at::Tensor img = fixture_pictures(2, 3, 28);
  for (const auto& c : augment::medmnistc_corruptions("retinamnist")) {
    double last = -1;
    for (int s : {1, 3, 5}) {
      double err = 0;
      for (int64_t n = 0; n < img.size(0); ++n)
        err += (augment::corrupt(c, s, img[n], 9).to(torch::kDouble) - img[n].to(torch::kDouble))
                   .abs()
                   .mean()
                   .item<double>();
      EXPECT_GE(err, last) << c.name << " severity " << s;
      last = err;
    }
    EXPECT_GT(last, 0) << c.name;
  }
}

TEST(Corruptions, RefuseWhatIsNotAPicture) {
  EXPECT_THROW(augment::pixelate(torch::zeros({2, 8, 8}, torch::kUInt8), 0.5), Error);
  EXPECT_THROW(augment::pixelate(torch::zeros({3, 8, 8}, torch::kFloat), 0.5), Error);
  EXPECT_THROW(augment::pixelate(torch::zeros({3, 8, 8}, torch::kUInt8), 1.5), Error);
  EXPECT_THROW(augment::jpeg_compression(torch::zeros({3, 8, 8}, torch::kUInt8), 0), Error);
  EXPECT_THROW(augment::gaussian_blur(torch::zeros({3, 8, 8}, torch::kUInt8), 4, 1.0), Error);
}
