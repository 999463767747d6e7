// ForeachAdam against torch::optim::Adam: the same parameters after several steps (two groups with
// their own learning rates, weight decay), and optimizer state each can load from the other.
#include <sstream>

#include <gtest/gtest.h>
#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include "mednet/train/optimizer.h"

using mednet::train::clear_grads;
using mednet::train::decay_weights;
using mednet::train::ForeachAdam;

namespace {

torch::nn::Sequential make_net() {
  torch::manual_seed(3);
  return torch::nn::Sequential(torch::nn::Linear(6, 5), torch::nn::ReLU(), torch::nn::Linear(5, 3));
}

std::vector<torch::optim::OptimizerParamGroup> groups_of(torch::nn::Sequential& net) {
  std::vector<torch::optim::OptimizerParamGroup> g;
  g.emplace_back(net[0]->parameters(), std::make_unique<torch::optim::AdamOptions>(1e-2));
  g.emplace_back(net[2]->parameters(), std::make_unique<torch::optim::AdamOptions>(3e-3));
  return g;
}

void train_steps(torch::nn::Sequential& net, torch::optim::Optimizer& opt, int steps, uint64_t seed) {
  torch::manual_seed(seed);
  for (int s = 0; s < steps; ++s) {
    const at::Tensor x = torch::randn({8, 6});
    clear_grads(opt);
    net->forward(x).pow(2).mean().backward();
    opt.step();
  }
}

void expect_same_parameters(torch::nn::Sequential& a, torch::nn::Sequential& b) {
  const auto pa = a->parameters(), pb = b->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i])) << "parameter " << i;
}

// from's state, written to an archive and read back into to.
void copy_state(torch::optim::Optimizer& from, torch::optim::Optimizer& to) {
  std::stringstream bytes;
  torch::serialize::OutputArchive out;
  from.save(out);
  out.save_to(bytes);
  torch::serialize::InputArchive in;
  in.load_from(bytes);
  to.load(in);
}

}  // namespace

TEST(ForeachAdam, StepsExactlyAsTorchAdam) {
  auto a = make_net(), b = make_net();
  const auto options = torch::optim::AdamOptions(1e-2).weight_decay(1e-3);
  torch::optim::Adam reference(groups_of(a), options);
  ForeachAdam foreach_adam(groups_of(b), options);
  train_steps(a, reference, 6, 11);
  train_steps(b, foreach_adam, 6, 11);
  expect_same_parameters(a, b);
  // And not trivially: the parameters moved.
  EXPECT_FALSE(torch::equal(a->parameters()[0], make_net()->parameters()[0]));
}

TEST(ForeachAdam, ItsStateLoadsIntoTorchAdamAndBack) {
  auto a = make_net(), b = make_net();
  const auto options = torch::optim::AdamOptions(1e-2);
  ForeachAdam first(groups_of(a), options);
  torch::optim::Adam second(groups_of(b), options);
  train_steps(a, first, 3, 5);
  train_steps(b, second, 3, 5);
  // Each state read by the other kind of optimizer, then step on: both stay equal.
  torch::optim::Adam a_next(groups_of(a), options);
  ForeachAdam b_next(groups_of(b), options);
  copy_state(first, a_next);
  copy_state(second, b_next);
  train_steps(a, a_next, 3, 6);
  train_steps(b, b_next, 3, 6);
  expect_same_parameters(a, b);
}

TEST(ClearGrads, DropsEveryGradient) {
  auto net = make_net();
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-2));
  net->forward(torch::randn({2, 6})).sum().backward();
  for (const auto& p : net->parameters()) ASSERT_TRUE(p.grad().defined());
  clear_grads(opt);
  for (const auto& p : net->parameters()) EXPECT_FALSE(p.grad().defined());
}

TEST(AdamW, DecayBeforeAdamStepsExactlyAsTorchAdamW) {
  auto a = make_net(), b = make_net();
  const double wd = 0.05;
  std::vector<torch::optim::OptimizerParamGroup> wg;
  wg.emplace_back(a[0]->parameters(), std::make_unique<torch::optim::AdamWOptions>(1e-2));
  wg.emplace_back(a[2]->parameters(), std::make_unique<torch::optim::AdamWOptions>(3e-3));
  for (auto& g : wg) static_cast<torch::optim::AdamWOptions&>(g.options()).weight_decay(wd);
  torch::optim::AdamW reference(wg, torch::optim::AdamWOptions(1e-2).weight_decay(wd));
  ForeachAdam adam(groups_of(b), torch::optim::AdamOptions(1e-2));
  train_steps(a, reference, 6, 13);
  torch::manual_seed(13);
  for (int s = 0; s < 6; ++s) {
    const at::Tensor x = torch::randn({8, 6});
    clear_grads(adam);
    b->forward(x).pow(2).mean().backward();
    decay_weights(adam, wd);
    adam.step();
  }
  const auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::allclose(pa[i], pb[i], 1e-5, 1e-7)) << i;
  // Without the decay the two differ: the test sees it.
  auto c = make_net();
  ForeachAdam plain(groups_of(c), torch::optim::AdamOptions(1e-2));
  train_steps(c, plain, 6, 13);
  EXPECT_FALSE(torch::allclose(pa[0], c->parameters()[0], 1e-5, 1e-7));
}
