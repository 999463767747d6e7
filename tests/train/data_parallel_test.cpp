// Data-parallel training over c10d (Gloo, loopback): two worker processes (this test program started
// again by dist::launch_local) each take their share of one global batch; the averaged gradients must
// equal one process's gradients on the whole batch. Uneven shares (7 rows on 2 ranks) and many small
// gradient buckets are used on purpose.
#include "mednet/train/data_parallel.h"

#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/data/catalog.h"
#include "mednet/dist/env.h"
#include "mednet/dist/launch.h"
#include "mednet/engine/evaluate.h"
#include "mednet/models/registry.h"
#include "support/fixtures.h"

using namespace mednet;

namespace {

constexpr int64_t kRows = 7;

/// eval: BatchNorm on running statistics (each rank computes the same function); otherwise training
/// mode with synchronised BatchNorm and no dropout layer (a head without hidden layers).
models::Classifier fixed_model(bool eval) {
  torch::manual_seed(11);
  models::ModelSpec s;
  s.name = "cnn";
  s.widths = {4, 8};
  s.hidden = eval ? std::vector<int64_t>{8} : std::vector<int64_t>{};
  models::Classifier m = models::make_model(s, data::input_shape(data::find_dataset("retinamnist"), 28));
  if (eval) m->eval();
  return m;
}

/// Runs the two workers; returns rank 0's gradients (and, last, the summed loss).
std::vector<at::Tensor> run_workers(const std::string& mode) {
  const std::string dir = mednet::testing::temp_dir("dist-grads");
  setenv("MEDNET_TEST_DIST_OUT", dir.c_str(), 1);
  setenv("MEDNET_TEST_DIST_MODE", mode.c_str(), 1);
  dist::LaunchOptions lo;
  lo.nproc = 2;
  lo.args = {"--gtest_filter=DataParallelWorker.OneStep"};
  lo.timeout_seconds = 60;
  const int rc = dist::launch_local(lo);
  unsetenv("MEDNET_TEST_DIST_OUT");
  unsetenv("MEDNET_TEST_DIST_MODE");
  EXPECT_EQ(rc, 0);
  std::vector<at::Tensor> got;
  if (std::filesystem::exists(dir + "/grads.pt")) torch::load(got, dir + "/grads.pt");
  return got;
}

/// The largest difference of gradients and buffers, relative to each tensor's largest value.
double worst_difference(const std::vector<at::Tensor>& got, const std::vector<at::Tensor>& want) {
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double scale = std::max(1.0, want[i].abs().max().item<double>());
    worst = std::max(worst, (got[i] - want[i]).abs().max().item<double>() / scale);
  }
  return worst;
}

std::pair<at::Tensor, at::Tensor> fixed_batch() {
  torch::manual_seed(5);
  return {torch::randn({kRows, 3, 28, 28}), torch::randint(0, 5, {kRows, 1}, torch::kLong)};
}

std::vector<at::Tensor> grads(models::ClassifierImpl& m) {
  std::vector<at::Tensor> g;
  for (const auto& p : m.parameters())
    g.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  return g;
}

}  // namespace

// The body each worker runs (skipped unless started by the test below).
TEST(DataParallelWorker, OneStep) {
  const char* out = std::getenv("MEDNET_TEST_DIST_OUT");
  if (out == nullptr) GTEST_SKIP() << "run by DataParallel.AveragedGradientsEqualOneProcess";
  core::set_threads(1);
  const dist::DistEnv env = dist::read_env();
  dist::GroupOptions o;
  o.timeout = std::chrono::seconds(60);
  auto group = dist::Group::connect(env, o, c10::kCPU);
  const bool sync_bn = std::string(std::getenv("MEDNET_TEST_DIST_MODE")) == "sync-bn";
  models::Classifier model = fixed_model(!sync_bn);
  train::DataParallel dp(group, *model, sync_bn, /*bucket_bytes=*/4096);
  const auto [x, y] = fixed_batch();
  const auto [offset, count] = dp.shard(kRows);
  dp.begin_step();
  at::Tensor loss = engine::task_loss(data::Task::MultiClass, model->forward(x.narrow(0, offset, count)),
                                      y.narrow(0, offset, count));
  (loss * (static_cast<double>(count * group->size()) / kRows)).backward();
  dp.finish_step();
  const auto st = dp.step_status(loss.item<double>() * static_cast<double>(count), false, false);
  if (group->is_main()) {
    std::vector<at::Tensor> g = grads(*model);
    g.push_back(torch::tensor({st.loss_sum}, torch::kDouble));
    torch::save(g, std::string(out) + "/grads.pt");
  }
}

/// Runs the workers in the given mode and one process on the whole batch; checks they agree.
void expect_one_process_gradients(const std::string& mode) {
  const std::vector<at::Tensor> got = run_workers(mode);
  models::Classifier model = fixed_model(mode == "eval");
  const auto [x, y] = fixed_batch();
  at::Tensor loss = engine::task_loss(data::Task::MultiClass, model->forward(x), y);
  loss.backward();
  const std::vector<at::Tensor> want = grads(*model);
  ASSERT_EQ(got.size(), want.size() + 1);
  const double worst = worst_difference(got, want);
  EXPECT_LT(worst, 1e-5);
  EXPECT_GT(want[0].abs().sum().item<double>(), 0);  // the comparison is not of zeros
  EXPECT_NEAR(got.back().item<double>(), loss.item<double>() * kRows, 1e-4);
  std::cout << "[ dist ] " << mode << ": largest gradient or statistic difference, relative: " << worst
            << "\n";
}

TEST(DataParallel, AveragedGradientsEqualOneProcess) {
  expect_one_process_gradients("eval");
}

TEST(DataParallel, SynchronisedBatchNormGivesTheWholeBatchsGradientsAndStatistics) {
  expect_one_process_gradients("sync-bn");
}

TEST(DataParallel, EnvironmentErrorsNameTheVariable) {
  setenv("WORLD_SIZE", "2", 1);
  setenv("RANK", "5", 1);
  try {
    dist::read_env();
    ADD_FAILURE() << "RANK 5 of 2 must be refused";
  } catch (const mednet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("RANK='5'"), std::string::npos) << e.what();
  }
  setenv("RANK", "1", 1);
  setenv("MASTER_PORT", "70000", 1);
  EXPECT_THROW(dist::read_env(), mednet::Error);
  unsetenv("MASTER_PORT");
  const dist::DistEnv e = dist::read_env();
  EXPECT_TRUE(e.launched);
  EXPECT_EQ(e.rank, 1);
  EXPECT_EQ(e.world_size, 2);
  unsetenv("WORLD_SIZE");
  unsetenv("RANK");
  EXPECT_FALSE(dist::read_env().launched);
}

TEST(DataParallel, AMasterThatNeverComesIsAnErrorWithinTheTimeout) {
  dist::DistEnv env;
  env.rank = 1;
  env.world_size = 2;
  env.master_port = dist::free_port();  // nobody listens there
  env.launched = true;
  dist::GroupOptions o;
  o.timeout = std::chrono::seconds(2);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    dist::Group::connect(env, o, c10::kCPU);
    ADD_FAILURE() << "joining a job without a master must fail";
  } catch (const mednet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 1 of 2: cannot reach the job's master"), std::string::npos)
        << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 30);
}
