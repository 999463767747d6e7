// train/weight_average.h: the average moves by the warmed-up decay, integer buffers are copied, and a
// swap exchanges the model's tensors with the average (twice restores both).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/train/weight_average.h"

using namespace mednet;

namespace {
torch::nn::Sequential model(double fill) {
  torch::nn::Sequential s(torch::nn::Linear(3, 2), torch::nn::BatchNorm1d(2));
  torch::NoGradGuard g;
  for (auto& p : s->parameters()) p.fill_(fill);
  return s;
}
void fill(torch::nn::Module& m, double v) {
  torch::NoGradGuard g;
  for (auto& p : m.parameters()) p.fill_(v);
}
double first(torch::nn::Module& m) {
  return m.parameters()[0].view(-1)[0].item<double>();
}
}  // namespace

TEST(WeightAverage, MovesByTheWarmedUpDecay) {
  auto m = model(0.0);
  train::WeightAverage avg(*m, 0.999);
  EXPECT_DOUBLE_EQ(avg.next_decay(), 0.1);  // (1 + 0) / (10 + 0)
  fill(*m, 1.0);
  avg.update();  // 0.1 * 0 + 0.9 * 1
  EXPECT_EQ(avg.updates(), 1);
  EXPECT_DOUBLE_EQ(avg.next_decay(), 2.0 / 11.0);
  avg.swap();
  EXPECT_NEAR(first(*m), 0.9, 1e-6);
  avg.swap();
  EXPECT_NEAR(first(*m), 1.0, 1e-6);
  avg.set_updates(1000000);
  EXPECT_DOUBLE_EQ(avg.next_decay(), 0.999);  // the configured decay caps it
}

TEST(WeightAverage, IntegerBuffersAreCopiedAndSwapsRestore) {
  auto m = model(0.5);
  train::WeightAverage avg(*m, 0.5);
  m->train();
  (void)m->forward(torch::randn({4, 3}));  // BatchNorm counts a batch
  fill(*m, 2.0);
  avg.set_updates(100);
  avg.update();  // decay 0.5: (0.5 + 2) / 2
  {
    const train::AverageSwapped swapped(&avg);
    EXPECT_NEAR(first(*m), 1.25, 1e-6);
    const auto buffers = m->named_buffers();
    EXPECT_EQ(buffers["1.num_batches_tracked"].item<int64_t>(), 1);
  }
  EXPECT_NEAR(first(*m), 2.0, 1e-6);
  const train::AverageSwapped none(nullptr);  // no average: nothing happens
  EXPECT_NEAR(first(*m), 2.0, 1e-6);
}
