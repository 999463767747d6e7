// What a training step and an evaluation batch hold in tensors, counted exactly and extended linearly in
// the rows: checked on a network whose tensors are known, against the picture size, and the model handed
// back as it was (mode, BatchNorm statistics, gradients, random stream).
#include "mednet/engine/step_memory.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/tensor_memory.h"
#include "mednet/models/registry.h"
#include "support/fixtures.h"

using namespace mednet;

namespace {

TEST(TensorMemoryCounter, CountsWhatTensorsHoldAndTheirPeak) {
  core::TensorMemoryCounter counter;
  const int64_t start = counter.now();
  {
    const at::Tensor a = torch::empty({1000}, torch::kFloat);  // 4000 bytes
    const at::Tensor b = torch::empty({500}, torch::kDouble);  // 4000 bytes
    EXPECT_EQ(counter.now() - start, 8000);
  }
  EXPECT_EQ(counter.now(), start);
  EXPECT_EQ(counter.peak() - start, 8000);
  counter.reset_peak();
  EXPECT_EQ(counter.peak(), start);
  EXPECT_THROW(core::TensorMemoryCounter second, Error);  // one at a time
}

TEST(StepMemory, AgreesWithPyTorchsOwnCountOnAKnownNetwork) {
  // Linear, tanh, linear, tanh (1000 wide) on 32 and 64 rows; the reference is PyTorch's profiler summing
  // its memory records in time order for the same network and batches.
  const auto [rc, text] = mednet::testing::run_command("/usr/bin/python3 " MEDNET_SOURCE_DIR
                                                       "/tests/scripts/step_memory_reference.py 32 64 2>&1");
  if (rc != 0 && text.find("No module named 'torch'") != std::string::npos)
    GTEST_SKIP() << "SKIPPED: python3-torch is not installed";
  ASSERT_EQ(rc, 0) << text;
  const auto ref = nlohmann::json::parse(text);
  torch::nn::Sequential net(torch::nn::Linear(1000, 1000), torch::nn::Tanh(), torch::nn::Linear(1000, 1000),
                            torch::nn::Tanh());
  const auto forward = [&](const at::Tensor& in) { return net->forward(in); };
  const engine::StepMemory m = engine::measure_step_memory(*net, forward, torch::randn({64, 1000}));
  ASSERT_TRUE(m.measured);
  EXPECT_EQ(m.rows, 64);
  for (const auto& [name, mine] : {std::pair{"train", m.train}, std::pair{"eval", m.eval}}) {
    const double per_row = ref[name]["per_row"].get<double>(), fixed = ref[name]["fixed"].get<double>();
    EXPECT_NEAR(mine.per_row, per_row, 0.02 * per_row) << name;
    EXPECT_NEAR(mine.fixed, fixed, 0.02 * fixed + 4096) << name;
  }
  EXPECT_GT(m.train.fixed, 8e6);  // the two weight gradients, 2 x 1000 x 1001 floats
  EXPECT_DOUBLE_EQ(m.train.at(32), m.train.fixed + 32 * m.train.per_row);
  EXPECT_THROW(engine::measure_step_memory(*net, forward, torch::randn({3, 1000})), Error);
}

TEST(StepMemory, GrowsWithThePictureAndLeavesTheModelAsItWas) {
  models::ModelSpec spec;
  spec.name = "resnet18";
  const models::Classifier resnet = models::make_model(spec, {3, 2, 28, 5});
  resnet->eval();
  const engine::StepMemory at28 = engine::measure_step_memory(*resnet, torch::rand({4, 3, 28, 28}));
  const engine::StepMemory at56 = engine::measure_step_memory(*resnet, torch::rand({4, 3, 56, 56}));
  ASSERT_TRUE(at28.measured && at56.measured);
  EXPECT_GT(at28.train.per_row, 1e6);  // 64 channels x 28 x 28 floats is 200 KB per kept map
  EXPECT_NEAR(at56.train.per_row / at28.train.per_row, 4.0, 0.6);  // 4x the pixels, 4x the maps
  EXPECT_LT(at28.eval.per_row, at28.train.per_row);
  EXPECT_FALSE(resnet->is_training());  // its mode is given back

  // BatchNorm statistics, gradients and dropout's random stream: unchanged by a measurement.
  models::ModelSpec cnn;
  cnn.name = "cnn";
  const models::Classifier net = models::make_model(cnn, {1, 2, 28, 2});
  net->parameters()[0].mutable_grad() = torch::ones_like(net->parameters()[0]);
  std::vector<at::Tensor> before;
  for (const auto& b : net->buffers()) before.push_back(b.clone());
  ASSERT_FALSE(before.empty());
  const at::Tensor input = torch::rand({4, 1, 28, 28}) * 4 + 2;
  torch::manual_seed(11);
  const at::Tensor expected = torch::rand({5});
  torch::manual_seed(11);
  engine::measure_step_memory(*net, input);  // its dropout draws from the stream
  EXPECT_TRUE(torch::equal(torch::rand({5}), expected));
  size_t i = 0;
  for (const auto& b : net->buffers()) EXPECT_TRUE(torch::equal(b, before[i++])) << i;
  EXPECT_TRUE(torch::equal(net->parameters()[0].grad(), torch::ones_like(net->parameters()[0])));
  EXPECT_FALSE(net->parameters()[1].grad().defined());
}

}  // namespace
