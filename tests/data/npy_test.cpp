#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/npy.h"
#include "support/fixtures.h"

using mednet::Error;
using mednet::data::npy_bytes;
using mednet::data::parse_npy;

namespace {

at::Tensor parse(const std::string& b) {
  return parse_npy(reinterpret_cast<const uint8_t*>(b.data()), b.size(), "test.npy");
}

std::string npy_error(const std::string& b) {
  try {
    parse(b);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

struct DTypeCase {
  at::ScalarType type;
};

class NpyDTypes : public ::testing::TestWithParam<at::ScalarType> {};

TEST_P(NpyDTypes, RoundTripsValuesAndShape) {
  at::Tensor src = (torch::arange(24) % 7).view({2, 3, 4}).to(GetParam());
  at::Tensor got = parse(npy_bytes(src));
  EXPECT_EQ(got.scalar_type(), GetParam());
  EXPECT_EQ(got.sizes(), src.sizes());
  EXPECT_TRUE(torch::equal(got, src));
}

INSTANTIATE_TEST_SUITE_P(All, NpyDTypes,
                         ::testing::Values(at::kByte, at::kChar, at::kBool, at::kShort, at::kInt, at::kLong,
                                           at::kFloat, at::kDouble));

TEST(Npy, UnsignedWideTypesWidenWithoutWrapping) {
  // 40000 as uint16 is negative as int16: the reader must give 40000 back.
  at::Tensor raw = torch::tensor({int16_t(-25536), int16_t(7)}, torch::kShort);
  at::Tensor got = parse(npy_bytes(raw, "<u2"));
  EXPECT_EQ(got.scalar_type(), at::kInt);
  EXPECT_EQ(got[0].item<int>(), 40000);
  EXPECT_EQ(got[1].item<int>(), 7);
}

TEST(Npy, FortranOrderIsTransposedToC) {
  at::Tensor c = torch::arange(6, torch::kByte).view({2, 3});
  std::string b = npy_bytes(c.t().contiguous());  // bytes of c in column-major order
  // Rewrite the header: shape (2, 3), fortran_order True (same header length).
  const auto pos = b.find("'fortran_order': False");
  b.replace(pos, 22, "'fortran_order': True ");
  const auto spos = b.find("(3, 2)");
  ASSERT_NE(spos, std::string::npos);
  b.replace(spos, 6, "(2, 3)");
  EXPECT_TRUE(torch::equal(parse(b), c));
}

TEST(Npy, ScalarShape) {
  at::Tensor got = parse(npy_bytes(torch::tensor(5.0)));
  EXPECT_EQ(got.dim(), 0);
  EXPECT_DOUBLE_EQ(got.item<double>(), 5.0);
}

TEST(Npy, ErrorsAreClear) {
  const std::string good = npy_bytes(torch::ones({4, 4}, torch::kFloat));
  EXPECT_NE(npy_error("not an array").find("bad magic"), std::string::npos);
  EXPECT_NE(npy_error(good.substr(0, good.size() - 3)).find("truncated"), std::string::npos);
  EXPECT_NE(npy_error(good.substr(0, 20)).find("truncated"), std::string::npos);
  EXPECT_NE(npy_error(npy_bytes(torch::ones({2}, torch::kLong), "<c8")).find("unsupported dtype '<c8'"),
            std::string::npos);
  EXPECT_NE(npy_error(npy_bytes(torch::ones({2}, torch::kFloat), ">f4")).find("big-endian"),
            std::string::npos);
  EXPECT_NE(npy_error(npy_bytes(torch::ones({2}, torch::kByte), "|O")).find("unsupported dtype"),
            std::string::npos);
}

}  // namespace

namespace {

TEST(NpyWriter, SavedFilesReadBackIdenticallyAndMatchNumpysHeader) {
  const std::string dir = mednet::testing::temp_dir("npy_write");
  torch::manual_seed(0);
  for (const at::Tensor& t : {torch::rand({3, 28, 28}), torch::randint(0, 255, {2, 5}).to(torch::kByte),
                              torch::randn({4}).to(torch::kDouble),
                              torch::arange(6, torch::kLong).view({1, 2, 3}), torch::rand({2, 2}) > 0.5}) {
    const std::string path = dir + "/a.npy";
    mednet::data::save_npy(path, t);
    const at::Tensor back = mednet::data::load_npy(path);
    EXPECT_EQ(back.scalar_type(), t.scalar_type());
    EXPECT_TRUE(torch::equal(back, t));
  }
  // numpy's own layout: header length padded so that the data starts at a multiple of 64
  const std::string b = npy_bytes(torch::zeros({3, 28, 28}));
  EXPECT_EQ(b.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const size_t data_start = 10 + static_cast<unsigned char>(b[8]) + 256 * static_cast<unsigned char>(b[9]);
  EXPECT_EQ(data_start % 64, 0u);
  EXPECT_NE(b.find("'descr': '<f4', 'fortran_order': False, 'shape': (3, 28, 28), }"), std::string::npos);
  EXPECT_NE(npy_bytes(torch::zeros({7})).find("'shape': (7,)"), std::string::npos);
}

}  // namespace
