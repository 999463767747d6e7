// Reduced precision: refused off CUDA with a clear message, and a no-op for fp32 and on the CPU.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/engine/autocast.h"

using mednet::engine::Autocast;
using mednet::engine::check_precision;

TEST(Autocast, ReducedPrecisionNeedsACudaDevice) {
  const c10::Device cpu(c10::kCPU);
  EXPECT_NO_THROW(check_precision("fp32", cpu));
  for (const char* p : {"bf16", "fp16"}) {
    try {
      check_precision(p, cpu);
      FAIL() << p;
    } catch (const mednet::Error& e) {
      EXPECT_EQ(e.kind(), mednet::ErrorKind::Usage);
      EXPECT_NE(std::string(e.what()).find(std::string("precision ") + p + " needs a CUDA device"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(Autocast, OnTheCpuComputationStaysInFloat32) {
  const at::Tensor a = torch::randn({4, 4}), b = torch::randn({4, 4});
  const at::Tensor expected = torch::mm(a, b);
  const Autocast guard("bf16", c10::Device(c10::kCPU));
  const at::Tensor got = torch::mm(a, b);
  EXPECT_EQ(got.scalar_type(), torch::kFloat);
  EXPECT_TRUE(torch::equal(got, expected));
}
