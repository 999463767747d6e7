// run/checkpoint.h: checkpoints are safetensors files with their kind in the metadata; a round trip of
// model and optimizer state resumes to the same numbers, one that does not fit the model is refused with
// the tensor named, and LibTorch archives of earlier runs are read as plain tensors.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/run/checkpoint.h"
#include "mednet/run/open_run.h"
#include "support/errors.h"
#include "support/fixtures.h"

using namespace mednet;

TEST(Checkpoint, RoundTripKeepsEveryTensor) {
  const std::string path = mednet::testing::temp_dir("checkpoint_rt") + "/best.pt";
  torch::manual_seed(1);
  torch::nn::Sequential a(torch::nn::Linear(4, 3), torch::nn::BatchNorm1d(3));
  run::save_module(*a, path);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  torch::nn::Sequential b(torch::nn::Linear(4, 3), torch::nn::BatchNorm1d(3));
  run::load_module(*b, path, torch::kCPU);
  for (const auto& p : a->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), b->named_parameters()[p.key()]));
}

TEST(Checkpoint, AModelOfOtherWidthsIsRefusedWithTheTensorNamed) {
  const std::string path = mednet::testing::temp_dir("checkpoint_shape") + "/last.pt";
  torch::nn::Sequential wide(torch::nn::Linear(4, 8));
  run::save_module(*wide, path);
  torch::nn::Sequential narrow(torch::nn::Linear(4, 3));
  try {
    run::load_module(*narrow, path, torch::kCPU);
    FAIL() << "a checkpoint of other shapes was loaded";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("does not fit the model its run's config.json describes: '0.weight' is [8, 4] there"),
              std::string::npos)
        << what;
  }
}

namespace {
// Two optimizer steps with fixed gradients.
void two_steps(torch::nn::Module& m, torch::optim::Optimizer& opt) {
  for (int k = 1; k <= 2; ++k) {
    for (auto& p : m.parameters()) p.mutable_grad() = torch::full_like(p, 0.1 * k);
    opt.step();
  }
}
}  // namespace

namespace {
// Model and optimizer state saved after two steps and loaded into a fresh pair: two more steps on each
// pair give the same parameters. save(a, oa) writes last.pt and last_optimizer.pt into dir.
template <typename Save>
void resumes_to_the_same_numbers(const std::string& dir, const Save& save) {
  for (const bool adam : {true, false}) {
    torch::manual_seed(2);
    torch::nn::Sequential a(torch::nn::Linear(4, 3), torch::nn::BatchNorm1d(3));
    torch::nn::Sequential b(torch::nn::Linear(4, 3), torch::nn::BatchNorm1d(3));
    auto make = [&](torch::nn::Sequential& m) -> std::unique_ptr<torch::optim::Optimizer> {
      if (adam) return std::make_unique<torch::optim::Adam>(m->parameters(), torch::optim::AdamOptions(0.01));
      return std::make_unique<torch::optim::SGD>(m->parameters(),
                                                 torch::optim::SGDOptions(0.01).momentum(0.9));
    };
    auto oa = make(a), ob = make(b);
    two_steps(*a, *oa);
    a->forward(torch::rand({5, 4}));  // running statistics that differ from a fresh model's
    save(*a, *oa);
    run::load_module(*b, dir + "/last.pt", torch::kCPU);
    run::load_optimizer(*ob, dir + "/last_optimizer.pt");
    for (const auto& t : b->named_buffers())
      EXPECT_TRUE(torch::equal(t.value(), a->named_buffers()[t.key()])) << t.key();
    two_steps(*a, *oa);
    two_steps(*b, *ob);
    for (const auto& p : a->named_parameters())
      EXPECT_TRUE(torch::equal(p.value(), b->named_parameters()[p.key()]))
          << p.key() << (adam ? " adam" : " sgd");
  }
}
}  // namespace

TEST(Checkpoint, FilesAreSafetensorsAndOptimizerStateResumesToTheSameNumbers) {
  const std::string dir = mednet::testing::temp_dir("checkpoint_opt");
  resumes_to_the_same_numbers(dir, [&](torch::nn::Module& m, torch::optim::Optimizer& opt) {
    run::save_module(m, dir + "/last.pt");
    run::save_optimizer(opt, dir + "/last_optimizer.pt");
    // safetensors: an 8-byte header length, then the JSON header that names what the file holds.
    const std::string bytes = mednet::testing::read_file(dir + "/last_optimizer.pt");
    EXPECT_NE(bytes.find("\"mednet_checkpoint\":\"optimizer\""), std::string::npos);
  });
  // The other kind of file in its place is refused.
  torch::nn::Sequential m(torch::nn::Linear(4, 3), torch::nn::BatchNorm1d(3));
  torch::optim::Adam adam(m->parameters());
  const std::string what = mednet::testing::error_of([&] { run::load_optimizer(adam, dir + "/last.pt"); });
  EXPECT_NE(what.find("is not a mednet optimizer checkpoint"), std::string::npos) << what;
}

// Runs of earlier versions hold LibTorch archives: mednet reads them itself, as plain tensors.
TEST(Checkpoint, ArchivesOfEarlierRunsResumeToTheSameNumbers) {
  const std::string dir = mednet::testing::temp_dir("checkpoint_legacy");
  resumes_to_the_same_numbers(dir, [&](torch::nn::Module& m, torch::optim::Optimizer& opt) {
    torch::serialize::OutputArchive module, optimizer;
    m.save(module);
    module.save_to(dir + "/last.pt");
    opt.save(optimizer);
    optimizer.save_to(dir + "/last_optimizer.pt");
  });
  // A module archive read as an optimizer's, and one whose tensor is another shape, are refused.
  torch::nn::Sequential m(torch::nn::Linear(4, 3), torch::nn::BatchNorm1d(3));
  torch::optim::Adam adam(m->parameters());
  std::string what = mednet::testing::error_of([&] { run::load_optimizer(adam, dir + "/last.pt"); });
  EXPECT_NE(
      what.find("optimizer state " + dir + "/last.pt is damaged: it has no 'param_groups.param_groups/size'"),
      std::string::npos)
      << what;
  torch::nn::Sequential wide(torch::nn::Linear(4, 5), torch::nn::BatchNorm1d(5));
  what = mednet::testing::error_of([&] { run::load_module(*wide, dir + "/last.pt", torch::kCPU); });
  EXPECT_NE(what.find("'0.weight' is [3, 4] there and [5, 4] in the model"), std::string::npos) << what;
}

TEST(NewRunDir, OnlyAMissingOrEmptyFolderTakesANewRun) {
  const std::string dir = mednet::testing::temp_dir("new_run_dir");
  EXPECT_NO_THROW(run::check_new_run_dir(dir + "/not_yet"));
  EXPECT_NO_THROW(run::check_new_run_dir(dir));  // empty
  auto usage_error = [](const std::string& d) -> std::string {
    try {
      run::check_new_run_dir(d);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage);
      return e.what();
    }
    return "";
  };
  std::ofstream(dir + "/config.json") << "{\"epochs\": 5}";  // a person's own file
  EXPECT_NE(usage_error(dir).find(" is not empty and holds no finished epoch"), std::string::npos);
  EXPECT_NE(usage_error(dir + "/config.json").find(" is a file, not a folder"), std::string::npos);
  std::ofstream(dir + "/state.json") << "{}";
  EXPECT_NE(usage_error(dir).find(" already holds a run; continue it with --resume"), std::string::npos);
}
