// The study runner as a library call on generated data: arms skipped on a CPU, a stage whose run is
// missing fails with its reason while the others finish, the report marks the gap and says how each arm's
// checkpoint was chosen, and a second call finds the finished stages complete.
#include "mednet/experiments/run_study.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/core/runtime.h"
#include "support/fixtures.h"

using namespace mednet;
namespace fs = std::filesystem;

namespace {
struct StudyMessages : train::TrainObserver {
  std::string all;
  void on_message(const std::string& text) override { all += text + "\n"; }
};

// The study on a CPU, reading generated files from dir without checking their checksums.
experiments::StudyOptions on_cpu_from(const std::string& dir) {
  experiments::StudyOptions o;
  o.device = "cpu";
  o.root = dir;
  o.check_md5 = false;
  return o;
}
}  // namespace

TEST(RunStudy, SkipsCpuArmsReportsFailedStagesAndResumes) {
  core::set_threads(2);
  const std::string dir = mednet::testing::temp_dir("run_study");
  mednet::testing::write_fake_medmnist(dir + "/retinamnist.npz", "retinamnist", 60, 20, 30);
  std::ofstream(dir + "/train.json") << R"({"name": "t", "seeds": [0],
    "base": {"dataset": "retinamnist", "epochs": 2, "batch_size": 16, "patience": 0,
             "model": {"name": "cnn", "widths": [4], "hidden": [4]}},
    "arms": [{"name": "a", "label": "arm A", "config": {"select": "loss"}}, {"name": "slow", "label": "slow arm", "config": {"lr": 0.01}}]})";
  std::ofstream(dir + "/cam.json")
      << R"({"methods": ["gradcam"], "entries": [{"name": "x", "run": "runs/t/missing/seed0"}]})";
  std::ofstream(dir + "/trust.json") << R"({"name": "How far", "folders": ["runs/t"], "coverage": 0.8})";
  std::ofstream(dir + "/robust.json") << R"({"name": "Corrupted", "folders": ["runs/t"], "seed": 2})";
  std::ofstream(dir + "/study.json")
      << R"({"name": "S", "stages": [
      {"name": "t", "kind": "train", "file": ")" +
             dir + R"(/train.json", "cpu_skip": [{"arm": "slow", "why": "too slow"}]},
      {"name": "c", "kind": "cam", "file": ")" +
             dir + R"(/cam.json"},
      {"name": "trust", "kind": "trust", "file": ")" +
             dir + R"(/trust.json"},
      {"name": "robustness", "kind": "robustness", "file": ")" +
             dir + R"(/robust.json"}],
    "presets": {"quick": {"train": {"epochs": 1}}}})";
  const experiments::StudySpec spec = experiments::load_study(dir + "/study.json");
  experiments::StudyOptions o = on_cpu_from(dir);
  const std::string out = dir + "/out";
  StudyMessages first;
  const experiments::StudyOutcome r = experiments::run_study(spec, dir + "/study.json", out, o, first);
  ASSERT_EQ(r.stages.size(), 4u);
  EXPECT_EQ(r.stages[0].status, "done");
  EXPECT_NE(r.stages[0].message.find("arm 'slow' skipped on CPU (too slow)"), std::string::npos);
  EXPECT_NE(first.all.find("skipped on CPU: t arm 'slow'"), std::string::npos) << first.all;
  EXPECT_FALSE(fs::exists(out + "/t/slow"));
  EXPECT_TRUE(fs::exists(out + "/t/a/seed0/metrics.json"));
  EXPECT_EQ(r.stages[1].status, "failed");
  EXPECT_NE(r.stages[1].message.find("missing/seed0"), std::string::npos) << r.stages[1].message;
  EXPECT_TRUE(r.failed);
  // The trust stage checked the one finished run, which keeps what predict applies.
  EXPECT_EQ(r.stages[2].status, "done");
  EXPECT_EQ(r.stages[2].message, "1 runs");
  for (const char* f : {"calibration.json", "ood.safetensors", "trust.json", "trust.md"})
    EXPECT_TRUE(fs::exists(out + "/t/a/seed0/" + f)) << f;
  // The robustness stage scored the same run under RetinaMNIST's eight MedMNIST-C corruptions.
  EXPECT_EQ(r.stages[3].status, "done");
  EXPECT_EQ(r.stages[3].message, "1 runs");
  const auto rob = nlohmann::json::parse(core::read_file(out + "/robustness/t/a/seed0/robustness.json"));
  EXPECT_EQ(rob["cells"].size(), 40u);
  EXPECT_EQ(rob["seed"].get<int>(), 2);
  const std::string summary = core::read_file(out + "/trust/summary.json");
  EXPECT_NE(summary.find("\"run\": \"t/a/seed0\""), std::string::npos) << summary;
  const std::string html = core::read_file(r.report_html);
  EXPECT_NE(html.find("arm A"), std::string::npos);
  EXPECT_NE(html.find("class=\"gap\""), std::string::npos);
  EXPECT_FALSE(r.gaps.empty());
  // How the checkpoint was chosen is read from the run (here by validation loss), not assumed.
  const std::string md = core::read_file(out + "/report.md");
  EXPECT_NE(md.find("checkpoint chosen by"), std::string::npos);
  EXPECT_NE(md.find("checkpoint with the best validation loss"), std::string::npos) << md;
  EXPECT_EQ(md.find("best validation AUC"), std::string::npos) << md;
  EXPECT_NE(md.find("## trust: How far"), std::string::npos) << md;
  EXPECT_NE(md.find("## robustness: Corrupted"), std::string::npos) << md;
  EXPECT_NE(md.find("### 2D runs under MedMNIST-C's corruptions"), std::string::npos) << md;
  EXPECT_NE(md.find(" costs the most test AUC ("), std::string::npos) << md;
  // The report opens with the summary (the trained arm beside the best published row, conclusions linked to
  // their sections) and ends with the stages' bookkeeping.
  const size_t summary_at = md.find("## Summary");
  ASSERT_NE(summary_at, std::string::npos) << md;
  EXPECT_LT(summary_at, md.find("## t: "));
  EXPECT_NE(md.find("| t | arm A | RetinaMNIST | 1 | "), std::string::npos) << md;
  EXPECT_NE(md.find("(Google AutoML Vision) |"), std::string::npos) << md;
  EXPECT_NE(md.find("t: the best arm, arm A, reached test AUC "), std::string::npos) << md;
  EXPECT_NE(md.find("([see t](#t))"), std::string::npos) << md;
  EXPECT_NE(md.find("arm 'slow' skipped on CPU (too slow)."), std::string::npos) << md;  // a caveat
  EXPECT_GT(md.find("## Appendix: how each stage ran"), md.find("## trust: How far")) << md;
  const std::string page = core::read_file(r.report_html);
  EXPECT_NE(page.find("<a href=\"#t\">see t</a>"), std::string::npos);
  // RetinaMNIST is graded: the trust section speaks of grades.
  EXPECT_NE(md.find("80% conformal sets, calibrated on validation, held the true grade for between"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("The predicted grade never changes under a temperature"), std::string::npos) << md;
  EXPECT_NE(md.find("| grade covered worst: covered of its test images |"), std::string::npos) << md;
  EXPECT_NE(md.find("it is weakest for grade "), std::string::npos) << md;
  EXPECT_EQ(md.find("true class"), std::string::npos) << md;
  EXPECT_NE(core::read_file(out + "/t/a/seed0/trust.md").find("| true grade | test images | covered |"),
            std::string::npos);
  EXPECT_NE(md.find("| t/a/seed0 |"), std::string::npos) << md;
  // The preset's epochs reached the run.
  EXPECT_NE(core::read_file(out + "/t/a/seed0/config.json").find("\"epochs\": 1"), std::string::npos);

  StudyMessages second;
  const experiments::StudyOutcome again = experiments::run_study(spec, dir + "/study.json", out, o, second);
  EXPECT_EQ(again.stages[0].status, "already complete");
  EXPECT_NE(again.stages[0].message.find("done by an earlier call"), std::string::npos);
  // The report reads how each stage ended from stages.json, not from which call ran it: the same page.
  EXPECT_EQ(core::read_file(out + "/report.md"), md);
  // A stage finished by a call that was stopped before stages.json said so: done, its time unknown (NaN,
  // which the report and the command print as not recorded).
  fs::remove(out + "/stages.json");
  StudyMessages third;
  const experiments::StudyOutcome unrecorded =
      experiments::run_study(spec, dir + "/study.json", out, o, third);
  EXPECT_EQ(unrecorded.stages[0].status, "already complete");
  EXPECT_TRUE(std::isnan(unrecorded.stages[0].seconds));
  EXPECT_NE(core::read_file(out + "/stages.json").find("\"seconds\": null"), std::string::npos);
  const experiments::StudyOutcome later = experiments::run_study(spec, dir + "/study.json", out, o, third);
  EXPECT_NE(later.stages[0].message.find("done by an earlier call"), std::string::npos);
  EXPECT_TRUE(std::isnan(later.stages[0].seconds));
  o.preset = "full";
  EXPECT_THROW(experiments::run_study(spec, dir + "/study.json", out, o, second), Error);
}

TEST(RunStudy, RunsOnOtherDatasetsAndKeepsOneFolderToOnePair) {
  core::set_threads(2);
  const std::string dir = mednet::testing::temp_dir("run_study_datasets");
  mednet::testing::write_fake_medmnist(dir + "/breastmnist.npz", "breastmnist", 40, 16, 20);
  mednet::testing::write_fake_medmnist(dir + "/adrenalmnist3d.npz", "adrenalmnist3d", 4, 2, 2);
  std::ofstream(dir + "/train.json") << R"({"name": "cnn-retina", "seeds": [0],
    "description": "The 2D CNN on RetinaMNIST.",
    "base": {"dataset": "retinamnist", "epochs": 1, "batch_size": 16, "patience": 0,
             "model": {"name": "cnn", "widths": [4], "hidden": [4]}},
    "arms": [{"name": "cnn-retina", "label": "CNN on RetinaMNIST"}]})";
  std::ofstream(dir + "/study.json") << R"({"name": "A study of RetinaMNIST",
    "datasets": {"2d": "retinamnist", "3d": "adrenalmnist3d"},
    "stages": [{"name": "t", "kind": "train", "file": ")" +
                                            dir + R"(/train.json"}], "presets": {"quick": {}}})";
  const auto original = experiments::load_study(dir + "/study.json");
  const auto breast = experiments::with_datasets(original, "breastmnist", "");
  experiments::StudyOptions o = on_cpu_from(dir);
  const std::string out = dir + "/out";
  StudyMessages log;
  const auto r = experiments::run_study(breast, dir + "/study.json", out, o, log);
  ASSERT_EQ(r.stages.size(), 1u);
  EXPECT_EQ(r.stages[0].status, "done") << r.stages[0].message;
  const std::string config = core::read_file(out + "/t/cnn-breast/seed0/config.json");
  EXPECT_NE(config.find("\"dataset\": \"breastmnist\""), std::string::npos) << config;
  const auto datasets = nlohmann::json::parse(core::read_file(out + "/datasets.json"));
  EXPECT_EQ(datasets, (nlohmann::json{{"2d", "breastmnist"}, {"3d", "adrenalmnist3d"}}));
  const std::string md = core::read_file(out + "/report.md");
  EXPECT_NE(md.find("A study of BreastMNIST"), std::string::npos) << md;
  EXPECT_NE(md.find("CNN on BreastMNIST"), std::string::npos) << md;
  EXPECT_EQ(md.find("RetinaMNIST"), std::string::npos) << md;
  // The folder holds BreastMNIST: the study's own datasets are refused there, with the flags to give.
  try {
    experiments::run_study(original, dir + "/study.json", out, o, log);
    ADD_FAILURE() << "a folder run on breastmnist was resumed as retinamnist";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(
        std::string(e.what()).find("holds the study on breastmnist and adrenalmnist3d, not on retinamnist"),
        std::string::npos)
        << e.what();
  }
  // A dataset whose file is not on the machine stops the study before anything runs, naming the fetch.
  try {
    experiments::run_study(experiments::with_datasets(original, "dermamnist", ""), dir + "/study.json",
                           dir + "/out2", o, log);
    ADD_FAILURE() << "a study ran without its file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mednet fetch dermamnist"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir + "/out2/t"));
}
