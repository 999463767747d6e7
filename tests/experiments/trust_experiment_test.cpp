// The trust stage's experiment file and how it finds the runs it checks; the stage itself runs in
// run_study_test.cpp.
#include "mednet/experiments/trust_experiment.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "mednet/core/error.h"
#include "support/fixtures.h"

using namespace mednet;
namespace fs = std::filesystem;

TEST(TrustExperiment, FindsEveryFinishedRunOnceAndSorted) {
  const std::string dir = mednet::testing::temp_dir("trust_runs");
  for (const char* run : {"b/seed0", "a/seed1", "a/seed0"}) {
    fs::create_directories(dir + "/" + run + "/ckpt");
    std::ofstream(dir + "/" + run + "/metrics.json") << R"({"test": {"auc": 0.5}})";
  }
  fs::create_directories(dir + "/c/seed0");                   // not finished: no metrics.json
  std::ofstream(dir + "/a/seed0/ckpt/metrics.json") << "{}";  // inside a run: not a run of its own
  EXPECT_EQ(experiments::finished_runs_under(dir),
            (std::vector<std::string>{dir + "/a/seed0", dir + "/a/seed1", dir + "/b/seed0"}));
  EXPECT_TRUE(experiments::finished_runs_under(dir + "/missing").empty());
}

TEST(TrustExperiment, TheRepositorysFileLoadsAndBadFilesAreUsageErrors) {
  const auto e = experiments::load_trust_experiment(MEDNET_SOURCE_DIR "/experiments/trust.json");
  EXPECT_EQ(e.coverage, 0.9);
  EXPECT_EQ(e.folders, (std::vector<std::string>{"runs/exp1", "runs/exp2a", "runs/exp2b", "runs/exp3"}));
  const std::string dir = mednet::testing::temp_dir("trust_bad");
  for (const auto& [text, part] : std::vector<std::pair<std::string, std::string>>{
           {R"({"folders": ["runs/x"], "coverage": 1.5})", "coverage must be between 0 and 1"},
           {R"({"folders": []})", "'folders' must list at least one"},
           {R"({"folders": [3]})", "each folder must be a path"},
           {R"({"folders": ["runs/x"], "colour": 1})", "colour"}}) {
    std::ofstream(dir + "/t.json") << text;
    try {
      experiments::load_trust_experiment(dir + "/t.json");
      ADD_FAILURE() << "accepted " << text;
    } catch (const Error& ex) {
      EXPECT_EQ(ex.kind(), ErrorKind::Usage) << ex.what();
      EXPECT_NE(std::string(ex.what()).find(part), std::string::npos) << ex.what();
    }
  }
}
