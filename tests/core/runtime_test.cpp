// core/runtime.h's speed levers: channels-last changes strides, never values, and each lever can be
// switched off by name.
#include <cstdlib>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/runtime.h"

using namespace mednet;

namespace {
// Sets MEDNET_GPU_LEVERS_OFF for one scope.
struct LeversOff {
  explicit LeversOff(const char* names) { setenv("MEDNET_GPU_LEVERS_OFF", names, 1); }
  ~LeversOff() { unsetenv("MEDNET_GPU_LEVERS_OFF"); }
};
}  // namespace

TEST(Runtime, LeversAreOnUnlessNamedOff) {
  EXPECT_TRUE(core::gpu_lever("channels-last"));
  const LeversOff off("resident,channels-last");
  EXPECT_FALSE(core::gpu_lever("channels-last"));
  EXPECT_FALSE(core::gpu_lever("resident"));
  EXPECT_TRUE(core::gpu_lever("channels"));  // whole names only
  EXPECT_TRUE(core::gpu_lever("async-checkpoint"));
}

TEST(Runtime, ChannelsLastKeepsValuesAndShapesOnTheCpu) {
  const at::Tensor image = torch::randn({2, 8, 5, 7});
  const at::Tensor volume = torch::randn({2, 16, 4, 5, 6});
  const at::Tensor rows = torch::randn({4, 9});
  const at::Tensor i = core::conv_layout(image), v = core::conv_layout(volume);
  EXPECT_TRUE(i.is_contiguous(at::MemoryFormat::ChannelsLast));
  EXPECT_FALSE(i.is_contiguous());
  EXPECT_TRUE(v.is_contiguous(at::MemoryFormat::ChannelsLast3d));
  EXPECT_EQ(i.sizes(), image.sizes());
  EXPECT_TRUE(torch::equal(i, image));
  EXPECT_TRUE(torch::equal(v, volume));
  EXPECT_TRUE(core::conv_layout(rows).is_same(rows));

  // Fewer than 8 channels (pictures, narrow layers) stay as they are.
  const at::Tensor rgb = torch::randn({2, 3, 5, 7}), narrow = torch::randn({2, 4, 4, 5, 6});
  EXPECT_TRUE(core::conv_layout(rgb).is_same(rgb));
  EXPECT_TRUE(core::conv_layout(narrow).is_same(narrow));

  const LeversOff off("channels-last");
  EXPECT_TRUE(core::conv_layout(image).is_same(image));
}
