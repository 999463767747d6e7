// Several explanation methods on one run: each method's folder, and the leaderboard that ranks them by
// the stated rule with bootstrap intervals over the samples, recomputed here from each method's cam.json.
#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "mednet/core/error.h"
#include "mednet/core/json.h"
#include "mednet/core/runtime.h"
#include "mednet/explain/cam_compare.h"
#include "support/fixtures.h"

using namespace mednet;
namespace fs = std::filesystem;

TEST(CamCompare, LeaderboardRanksByInsertionMinusDeletionWithIntervals) {
  core::set_threads(2);
  const std::string root = mednet::testing::temp_dir("cam-compare");
  explain::CamStudyOptions o;
  o.run = mednet::testing::tiny_trained_run(root, "retinamnist", [](run::TrainConfig& c) {
    c.epochs = 2;
    c.model.widths = {4, 8};
    c.model.hidden = {8};
  });
  o.root = root;
  o.out = root + "/cams";
  o.samples = 6;
  o.check_md5 = false;
  o.device = "cpu";
  o.attribution.ig_steps = 8;
  const std::vector<std::string> methods{"gradcam", "occlusion", "ig-black"};
  const std::string md = explain::compare_cam_methods(o, methods);

  const nlohmann::json board = nlohmann::json::parse(mednet::testing::read_file(o.out + "/leaderboard.json"));
  ASSERT_EQ(board.at("methods").size(), 3u);
  EXPECT_EQ(board.at("samples").get<int>(), 6);
  EXPECT_NE(board.at("rule").get<std::string>().find("insertion area - deletion area"), std::string::npos);
  double previous = INFINITY;
  for (size_t i = 0; i < 3; ++i) {
    const auto& row = board.at("methods")[i];
    const std::string m = row.at("method").get<std::string>();
    EXPECT_EQ(board.at("order")[i].get<std::string>(), m);
    EXPECT_EQ(row.at("rank").get<size_t>(), i + 1);
    // The row's numbers, recomputed from the method's own cam.json.
    const nlohmann::json cam =
        nlohmann::json::parse(mednet::testing::read_file(o.out + "/" + m + "/cam.json"));
    const auto& samples = cam.at("samples");
    ASSERT_EQ(samples.size(), 6u) << m;
    double del = 0, ins = 0, road = 0;
    for (const auto& s : samples) {
      road += s.at("road").get<double>() / 6;
      del += s.at("deletion_area").get<double>() / 6;
      ins += s.at("insertion_area").get<double>() / 6;
      EXPECT_GE(s.at("deletion_area").get<double>(), 0.0);
      EXPECT_LE(s.at("insertion_area").get<double>(), 0.5 + 1e-9);  // a probability over [0, 0.5]
    }
    EXPECT_NEAR(cam.at("deletion").at("area_by_map").get<double>(), del, 1e-9) << m;
    EXPECT_NEAR(cam.at("insertion").at("area_by_map").get<double>(), ins, 1e-9) << m;
    const auto& score = row.at("insertion_minus_deletion");
    EXPECT_NEAR(score.at("mean").get<double>(), ins - del, 1e-9) << m;
    EXPECT_NEAR(row.at("road_combined").at("mean").get<double>(), road, 1e-9) << m;
    EXPECT_NEAR(cam.at("road").at("combined").get<double>(), road, 1e-9) << m;
    EXPECT_LE(score.at("mean").get<double>(), previous) << m << " is out of order";
    previous = score.at("mean").get<double>();
    for (const char* key : {"insertion_minus_deletion", "deletion_area", "insertion_area", "road_combined"}) {
      const auto& v = row.at(key);
      EXPECT_LE(v.at("ci_low").get<double>(), v.at("mean").get<double>() + 1e-12) << m << " " << key;
      EXPECT_GE(v.at("ci_high").get<double>(), v.at("mean").get<double>() - 1e-12) << m << " " << key;
      EXPECT_LT(v.at("ci_low").get<double>(), v.at("ci_high").get<double>()) << m << " " << key;
    }
    EXPECT_GT(row.at("seconds_per_sample").get<double>(), 0.0);
    EXPECT_EQ(row.at("layer").get<std::string>(), m == "gradcam" ? "stage2" : "input");
    EXPECT_NE(md.find("| " + m + " |"), std::string::npos) << md;
    EXPECT_TRUE(fs::exists(o.out + "/" + m + "/heatmaps.npy")) << m;
  }
  EXPECT_NE(md.find("Zeiler and Fergus"), std::string::npos) << md;
}

TEST(CamCompare, AnUnknownMethodIsAUsageErrorBeforeAnyWork) {
  explain::CamStudyOptions o;
  o.run = "/nonexistent";
  o.out = mednet::testing::temp_dir("cam-compare-bad");
  try {
    explain::compare_cam_methods(o, {"gradcam", "lime"});
    FAIL() << "an unknown method was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("'lime'"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(o.out + "/gradcam"));
}
