// models/state_dict.h: weights holding NaN or infinity are refused in every format mednet reads, naming the
// file and the tensor; and a damaged safetensors header's bytes reach the message escaped.
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/models/safetensors.h"
#include "mednet/models/weights.h"
#include "support/fixtures.h"

using namespace mednet::models;

namespace {

// The message of the error f throws ("" when it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const mednet::Error& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST(StateDict, CheckFiniteNamesTheTensorAndCountsItsBadValues) {
  const at::Tensor good = torch::ones({2, 3});
  const at::Tensor bad = torch::tensor({1.0f, NAN, INFINITY, -INFINITY, 2.0f});
  EXPECT_NO_THROW(check_finite({{"a", good}, {"q", torch::full({4}, 127, torch::kChar)}}, "f"));
  const std::string m = error_of([&] { check_finite({{"a", good}, {"layer.bias", bad}}, "w.safetensors"); });
  EXPECT_TRUE(has(m, "w.safetensors: tensor 'layer.bias' holds 3 non-finite values of 5 (1 NaN, 2 infinite)"))
      << m;
  EXPECT_TRUE(has(error_of([&] { check_finite({{"h", bad.to(torch::kHalf)}}, "f"); }), "'h' holds 3"));
}

TEST(StateDict, NanWeightsAreRefusedInSafetensorsAndTorchSaveFiles) {
  const std::string dir = mednet::testing::temp_dir("nan_weights");
  at::Tensor w = torch::ones({4, 4});
  w[2][1] = NAN;
  mednet::testing::write_safetensors(dir + "/w.safetensors",
                                     {{"conv.bias", torch::zeros({4})}, {"conv.weight", w}});
  std::string m = error_of([&] { read_state_dict(dir + "/w.safetensors"); });
  EXPECT_TRUE(has(m, dir + "/w.safetensors: tensor 'conv.weight' holds 1 non-finite value of 16")) << m;
  EXPECT_TRUE(has(error_of([&] { read_safetensors_file(dir + "/w.safetensors"); }), "'conv.weight'"));
  // A state dict saved by PyTorch itself (python3-torch), with an infinity in a BatchNorm statistic.
  const auto [rc, out] = mednet::testing::run_command(
      "/usr/bin/python3 -c \"import torch, collections; torch.save(collections.OrderedDict(["
      "('bn.weight', torch.ones(3)), ('bn.running_var', torch.tensor([1.0, float('inf'), 2.0]))]), '" +
      dir + "/w.pt')\"");
  if (rc != 0) GTEST_SKIP() << "SKIPPED: python3-torch is not usable here: " << out;
  m = error_of([&] { read_state_dict(dir + "/w.pt"); });
  EXPECT_TRUE(
      has(m, dir + "/w.pt: tensor 'bn.running_var' holds 1 non-finite value of 3 (0 NaN, 1 infinite)"))
      << m;
}

TEST(StateDict, HeaderBytesFrom0x80To0xFFAreEscapedInTheError) {
  const std::string dir = mednet::testing::temp_dir("st_bytes");
  // A header that is not JSON: bytes 0x80 to 0xFF right after its first brace.
  std::string header = "{";
  for (int b = 0x80; b <= 0xff; ++b) header += static_cast<char>(b);
  std::string file(8, '\0');
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  std::ofstream(dir + "/bad.safetensors", std::ios::binary) << file << header;
  const std::string m = error_of([&] { read_safetensors_file(dir + "/bad.safetensors"); });
  ASSERT_TRUE(has(m, "bad.safetensors (its safetensors header) is damaged")) << m;
  EXPECT_TRUE(has(m, "\\x80")) << m;
  for (char c : m)
    EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "byte " << int(static_cast<unsigned char>(c)) << " in " << m;
  // A key that is valid JSON but holds control bytes, in a tensor entry that is wrong.
  const std::string h2 = R"({"bad\u001b[31m": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}})";
  std::string f2(8, '\0');
  for (int i = 0; i < 8; ++i) f2[i] = static_cast<char>((h2.size() >> (8 * i)) & 0xff);
  std::ofstream(dir + "/key.safetensors", std::ios::binary) << f2 << h2 << "abcd";
  const std::string m2 = error_of([&] { read_safetensors_file(dir + "/key.safetensors"); });
  EXPECT_TRUE(has(m2, "tensor 'bad\\x1b[31m' has dtype Q9")) << m2;
}
