// run/epoch_writer.h: epochs committed on the writer's thread hold the state of their submit, digests
// carry from commit to commit, and a failed commit is thrown by the next call with the epoch before kept.
#include <filesystem>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/fs.h"
#include "mednet/run/checkpoint.h"
#include "mednet/run/epoch_writer.h"
#include "support/errors.h"
#include "support/fixtures.h"

using namespace mednet;
namespace fs = std::filesystem;
using mednet::testing::error_of;

namespace {
torch::nn::Linear writer_net() {
  return torch::nn::Linear(5, 3);
}

void fill_net(torch::nn::Linear& m, float v) {
  torch::NoGradGuard g;
  for (auto& p : m->parameters()) p.fill_(v);
}

float stored_weight(const std::string& path) {
  auto m = writer_net();
  run::load_module(*m, path, torch::kCPU);
  return m->weight.view(-1)[0].item<float>();
}

void add_epoch(run::RunState& s) {
  run::EpochRecord r;
  r.epoch = s.epochs_done() + 1;
  s.history.push_back(r);
}
}  // namespace

TEST(EpochWriter, CommitsTheStateOfEachSubmitWhileTheModelMovesOn) {
  const run::RunFiles files(mednet::testing::temp_dir("epoch_writer_async"));
  auto m = writer_net();
  run::RunState s;
  run::EpochWriter writer(files);
  fill_net(m, 1.0f);
  add_epoch(s);
  const core::FileWriter first = run::module_snapshot(*m);
  writer.submit(s, {run::staged_from(files.last(), first), run::staged_from(files.best(), first)});
  fill_net(m, 5.0f);  // the next epoch trains while the first is written
  add_epoch(s);
  writer.submit(s, {run::staged_from(files.last(), run::module_snapshot(*m))});
  fill_net(m, 9.0f);
  writer.wait(s);

  EXPECT_FLOAT_EQ(stored_weight(files.best()), 1.0f);
  EXPECT_FLOAT_EQ(stored_weight(files.last()), 5.0f);
  const run::RunState back = run::read_state(files);
  EXPECT_EQ(back.epochs_done(), 2);
  // best.pt's digest, recorded by the first commit, is still in the second one's state.json.
  ASSERT_EQ(back.checkpoints.size(), 2u);
  EXPECT_EQ(back.checkpoints.at("best.pt"), core::digest_file(files.best()));
  EXPECT_EQ(back.checkpoints.at("last.pt"), core::digest_file(files.last()));
  EXPECT_EQ(s.checkpoints, back.checkpoints);
  EXPECT_EQ(run::recover_run(files).epochs_done(), 2);
}

TEST(EpochWriter, AFailedCommitIsThrownByTheNextCallAndTheEpochBeforeStays) {
  const run::RunFiles files(mednet::testing::temp_dir("epoch_writer_fail"));
  auto m = writer_net();
  fill_net(m, 2.0f);
  run::RunState s;
  run::EpochWriter writer(files);
  add_epoch(s);
  writer.submit(s, {run::staged_from(files.last(), run::module_snapshot(*m))});
  add_epoch(s);
  const run::EpochFile full{files.last(), []() -> core::FileDigest {
                              MN_CHECK(false, "cannot write last.pt.tmp: No space left on device");
                              return {};
                            }};
  writer.submit(s, {full});
  add_epoch(s);
  EXPECT_NE(error_of([&] {
              writer.submit(s, {run::staged_from(files.last(), run::module_snapshot(*m))});
            }).find("No space left on device"),
            std::string::npos);
  writer.wait(s);  // nothing in flight after the error
  EXPECT_EQ(run::read_state(files).epochs_done(), 1);
  EXPECT_FLOAT_EQ(stored_weight(files.last()), 2.0f);
  EXPECT_FALSE(fs::exists(files.last() + ".tmp"));
}

TEST(EpochWriter, InTheForegroundEachSubmitCommitsBeforeItReturns) {
  const run::RunFiles files(mednet::testing::temp_dir("epoch_writer_sync"));
  auto m = writer_net();
  fill_net(m, 3.0f);
  run::RunState s;
  run::EpochWriter writer(files, /*background=*/false);
  add_epoch(s);
  writer.submit(s, {run::staged_from(files.last(), run::module_snapshot(*m))});
  ASSERT_EQ(s.checkpoints.count("last.pt"), 1u);
  EXPECT_EQ(s.checkpoints.at("last.pt"), core::digest_file(files.last()));
  EXPECT_EQ(run::read_state(files).epochs_done(), 1);
  EXPECT_FLOAT_EQ(stored_weight(files.last()), 3.0f);
}
