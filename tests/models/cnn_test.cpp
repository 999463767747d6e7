#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/catalog.h"
#include "mednet/models/cnn.h"
#include "mednet/models/registry.h"

using namespace mednet::models;

namespace {

struct ShapeCase {
  int dims;
  int64_t size, channels, classes;
  std::vector<int64_t> widths;
  bool global_pool;
};

class CnnShapes : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(CnnShapes, LogitsAndFeatureMap) {
  const auto& c = GetParam();
  Cnn net(CnnOptions(c.classes)
              .in_channels(c.channels)
              .spatial_dims(c.dims)
              .input_size(c.size)
              .widths(c.widths)
              .global_pool(c.global_pool));
  net->eval();
  std::vector<int64_t> shape{2, c.channels};
  for (int i = 0; i < c.dims; ++i) shape.push_back(c.size);
  at::Tensor x = torch::randn(shape);
  at::Tensor y = net->forward(x);
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, c.classes}));
  auto [fmap, logits] = net->forward_features(x);
  EXPECT_TRUE(torch::allclose(logits, y));
  EXPECT_EQ(fmap.dim(), c.dims + 2);
  EXPECT_EQ(fmap.size(1), c.widths.back());
  // the map before the last pooling: size halved once per earlier stage
  int64_t s = c.size;
  for (size_t i = 0; i + 1 < c.widths.size(); ++i) s /= 2;
  EXPECT_EQ(fmap.size(2), s);
}

INSTANTIATE_TEST_SUITE_P(Table, CnnShapes,
                         ::testing::Values(ShapeCase{3, 28, 1, 2, {32, 64, 128}, false},
                                           ShapeCase{3, 28, 1, 3, {8, 16, 32}, true},
                                           ShapeCase{2, 28, 3, 5, {32, 64, 128}, false},
                                           ShapeCase{2, 64, 1, 14, {16, 32, 64, 128}, false},
                                           ShapeCase{3, 64, 1, 2, {8, 16, 32}, false}));

TEST(Cnn, StudyModelParameterCount) {
  // conv 1->32 (864) + bn (64) + conv 32->64 (55296) + bn (128) + conv 64->128 (221184) + bn (256)
  // + fc 128*27 -> 256 (884736 + 256) + fc 256 -> 2 (512 + 2) = 1163298
  Cnn net(CnnOptions(2).in_channels(1).spatial_dims(3).input_size(28));
  EXPECT_EQ(count_parameters(*net), 1163298);
}

TEST(Cnn, BadOptionsAreErrors) {
  EXPECT_THROW(Cnn(CnnOptions(2).spatial_dims(4)), mednet::Error);
  EXPECT_THROW(Cnn(CnnOptions(2).widths({})), mednet::Error);
  EXPECT_THROW(Cnn(CnnOptions(2).input_size(4).widths({8, 8, 8, 8})), mednet::Error);
}

TEST(Registry, BuildsFromCatalogAndRejectsUnknownNames) {
  const auto& info = mednet::data::find_dataset("chestmnist");
  Classifier m = make_model(ModelSpec{}, mednet::data::input_shape(info, 28));
  EXPECT_EQ(m->forward(torch::randn({2, 1, 28, 28})).sizes(), (std::vector<int64_t>{2, 14}));
  ModelSpec bad;
  bad.name = "alexnet";
  EXPECT_THROW(make_model(bad, mednet::data::input_shape(info, 28)), mednet::Error);
}

}  // namespace
