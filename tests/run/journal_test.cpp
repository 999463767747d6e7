// run/journal.h and the checkpoint writes under it: a kill before or after the commit point leaves one
// whole epoch, a damaged checkpoint is refused before LibTorch parses it, and a full disk leaves the
// last good file in place.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/run/checkpoint.h"
#include "mednet/run/journal.h"
#include "support/errors.h"
#include "support/fixtures.h"

using namespace mednet;
namespace fs = std::filesystem;
using mednet::testing::error_of;

namespace {
torch::nn::Sequential net(double fill) {
  torch::nn::Sequential s(torch::nn::Linear(6, 4));
  torch::NoGradGuard g;
  for (auto& p : s->parameters()) p.fill_(fill);
  return s;
}

// Epoch 1 committed whole: last.pt and best.pt hold weights of 1.0.
run::RunState first_epoch(const run::RunFiles& files) {
  run::RunState s;
  s.history.push_back(run::EpochRecord{1, 0.001, 0.6, 0.7, 0.6, 0.7, 0.6, 0.5, 1.0});
  s.best_epoch = 1;
  const auto one = net(1.0);
  run::record_checkpoint(s, files.last(), core::stage_file(files.last(), run::module_snapshot(*one)));
  run::record_checkpoint(s, files.best(), core::stage_file(files.best(), run::module_snapshot(*one)));
  run::commit_epoch(files, s, {files.last(), files.best()});
  return s;
}

float first_weight(const std::string& path) {
  auto m = net(0.0);
  run::load_module(*m, path, torch::kCPU);
  return m->parameters()[0].view(-1)[0].item<float>();
}
}  // namespace

TEST(Journal, CommitRecordsDigestsAndRenamesEveryStagedFile) {
  const run::RunFiles files(mednet::testing::temp_dir("journal_commit"));
  const run::RunState s = first_epoch(files);
  EXPECT_FALSE(fs::exists(files.last() + ".tmp"));
  EXPECT_EQ(core::digest_file(files.last()), s.checkpoints.at("last.pt"));
  const run::RunState back = run::read_state(files);
  EXPECT_EQ(back.checkpoints.at("best.pt"), s.checkpoints.at("best.pt"));
  EXPECT_EQ(back.checkpoints.at("last.pt").bytes, fs::file_size(files.last()));
  EXPECT_EQ(run::recover_run(files).epochs_done(), 1);
  EXPECT_FLOAT_EQ(first_weight(files.last()), 1.0f);
}

TEST(Journal, AKillBeforeStateJsonLeavesThePreviousEpochAndItsStaleFilesGo) {
  const run::RunFiles files(mednet::testing::temp_dir("journal_before"));
  first_epoch(files);
  core::stage_file(files.last(),
                   run::module_snapshot(*net(2.0)));  // epoch 2 staged, state.json not yet written: killed
  const run::RunState r = run::recover_run(files);
  EXPECT_EQ(r.epochs_done(), 1);
  EXPECT_FALSE(fs::exists(files.last() + ".tmp"));
  EXPECT_FLOAT_EQ(first_weight(files.last()), 1.0f);
}

TEST(Journal, AKillAfterStateJsonIsFinishedByRecovery) {
  const run::RunFiles files(mednet::testing::temp_dir("journal_after"));
  run::RunState s = first_epoch(files);
  s.history.push_back(run::EpochRecord{2, 0.001, 0.5, 0.8, 0.7, 0.75, 0.65, 0.55, 1.0});
  run::record_checkpoint(s, files.last(), core::stage_file(files.last(), run::module_snapshot(*net(2.0))));
  core::write_file_atomic(files.state(), run::state_json(s));  // committed; killed before the rename
  const run::RunState r = run::recover_run(files);
  EXPECT_EQ(r.epochs_done(), 2);
  EXPECT_FALSE(fs::exists(files.last() + ".tmp"));
  EXPECT_FLOAT_EQ(first_weight(files.last()), 2.0f);
  EXPECT_EQ(run::read_history_csv(files.history()).size(), 2u);  // rewritten from state.json
}

TEST(Journal, ADamagedCheckpointIsRefusedBeforeItIsParsed) {
  const run::RunFiles files(mednet::testing::temp_dir("journal_damaged"));
  first_epoch(files);
  {
    std::fstream f(files.best(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(files.best()) / 2));
    f.put('\x5a');
  }
  const std::string what = error_of([&] { run::verify_run_checkpoint(files, files.best()); });
  EXPECT_NE(what.find("checkpoint " + files.best() + " is damaged"), std::string::npos) << what;
  const std::string resume = error_of([&] { run::recover_run(files); });
  EXPECT_NE(resume.find("cannot resume: " + files.best() + " is damaged or missing"), std::string::npos)
      << resume;
  // One byte more in last.pt (another run, best.pt whole) is refused too.
  const run::RunFiles other(mednet::testing::temp_dir("journal_longer"));
  first_epoch(other);
  std::ofstream(other.last(), std::ios::app) << "x";
  const std::string longer = error_of([&] { run::recover_run(other); });
  EXPECT_NE(longer.find("cannot resume: " + other.last() + " is damaged or missing"), std::string::npos)
      << longer;
}

TEST(Journal, AFullDiskLeavesTheLastGoodCheckpoint) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const run::RunFiles files(mednet::testing::temp_dir("journal_full"));
  first_epoch(files);
  const core::FileDigest before = core::digest_file(files.last());
  fs::create_symlink("/dev/full", files.last() + ".tmp");  // every write there fails with ENOSPC
  const std::string what = error_of([&] { run::save_module(*net(3.0), files.last()); });
  EXPECT_NE(what.find("cannot write " + files.last() + ".tmp: No space left on device (disk full?); " +
                      files.last() + " is unchanged"),
            std::string::npos)
      << what;
  EXPECT_FALSE(fs::exists(fs::symlink_status(files.last() + ".tmp")));
  EXPECT_EQ(core::digest_file(files.last()), before);
  EXPECT_EQ(run::recover_run(files).epochs_done(), 1);
}

TEST(Journal, AnEpochThatCannotBeWrittenLeavesThePreviousOneAndNoTemporary) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const run::RunFiles files(mednet::testing::temp_dir("journal_epoch_full"));
  run::RunState s = first_epoch(files);
  const std::string state_before = mednet::testing::read_file(files.state());
  s.history.push_back(run::EpochRecord{2, 0.001, 0.5, 0.8, 0.7, 0.75, 0.65, 0.55, 1.0});
  fs::create_symlink("/dev/full", files.best() + ".tmp");  // last.pt stages, then best.pt fails
  const auto two = net(2.0);
  const std::string what = error_of([&] {
    run::write_epoch(
        files, s,
        {{files.last(), [&] { return core::stage_file(files.last(), run::module_snapshot(*two)); }},
         {files.best(), [&] { return core::stage_file(files.best(), run::module_snapshot(*two)); }}});
  });
  EXPECT_NE(what.find("(disk full?)"), std::string::npos) << what;
  EXPECT_FALSE(fs::exists(files.last() + ".tmp"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(files.best() + ".tmp")));
  EXPECT_EQ(mednet::testing::read_file(files.state()), state_before);
  EXPECT_EQ(run::recover_run(files).epochs_done(), 1);
  EXPECT_FLOAT_EQ(first_weight(files.last()), 1.0f);
}
