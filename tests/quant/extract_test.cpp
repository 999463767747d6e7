// ResNets and their plain twins as int8 models: the extracted layer list computes what the network
// computes (2D and 3D, both stems, basic and bottleneck blocks), the full-integer model agrees with its
// fake-quantized float twin (an independent computation of the same int8 arithmetic) within a few
// output steps, the residual add runs as one quantized operator, and the file keeps the graph.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/catalog.h"
#include "mednet/data/dataset.h"
#include "mednet/models/registry.h"
#include "mednet/models/resnet.h"
#include "mednet/quant/extract.h"
#include "mednet/quant/int8_file.h"
#include "mednet/quant/int8_net.h"
#include "mednet/quant/qat.h"
#include "support/errors.h"
#include "support/fixtures.h"

using namespace mednet;
using quant::Layer;

namespace {

struct Case {
  const char* name;
  int dims;
  models::BlockKind block;
  bool small_stem;
  bool skip;
};

// A narrow ResNet with BatchNorm statistics and scales away from the identity (as after training).
models::ResNet trained_like(const Case& c, uint64_t seed) {
  torch::manual_seed(seed);
  models::ResNetOptions o(4, c.block, {1, 2, 1});
  o.widths({8, 16, 16}).in_channels(c.dims == 2 ? 3 : 1).spatial_dims(c.dims).small_stem(c.small_stem);
  o.skip(c.skip);
  models::ResNet m(o);
  mednet::testing::randomize_batch_norm(*m);
  m->eval();
  return m;
}

at::Tensor smooth_inputs(int dims, int64_t channels, int64_t size, int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<int64_t> shape{n, channels, size, size};
  if (dims == 3) shape.push_back(size);
  at::Tensor x = torch::rand(shape);
  x = dims == 3 ? at::avg_pool3d(x, 5, 1, 2) : at::avg_pool2d(x, 5, 1, 2);
  return (x - x.mean()) / x.std() * 0.5;
}

double relative_to(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

class ResNetInt8 : public ::testing::TestWithParam<Case> {};

TEST_P(ResNetInt8, LayersComputeTheNetworkAndInt8FollowsItsFakeQuantizedTwin) {
  const Case c = GetParam();
  auto m = trained_like(c, 11);
  const int64_t size = c.dims == 2 ? 28 : 16;
  const at::Tensor x = smooth_inputs(c.dims, c.dims == 2 ? 3 : 1, size, c.dims == 2 ? 16 : 4, 1);
  const at::Tensor calib_x = smooth_inputs(c.dims, c.dims == 2 ? 3 : 1, size, c.dims == 2 ? 48 : 8, 2);
  torch::NoGradGuard no_grad;
  const std::vector<Layer> layers = quant::extract_layers(*m);
  // Blocks: 1 + 2 + 1 = 4; a basic block has 2 convolutions, a bottleneck 3; the first block of every
  // stage after the first (and a bottleneck's first block) has a shortcut convolution.
  int adds = 0, convs = 0, pools = 0;
  for (const auto& l : layers) {
    adds += l.op == Layer::Op::Add;
    convs += l.op == Layer::Op::Conv;
    pools += l.op == Layer::Op::MaxPool;
  }
  const int per_block = c.block == models::BlockKind::Basic ? 2 : 3;
  const int shortcuts = c.skip ? (c.block == models::BlockKind::Basic ? 2 : 3) : 0;
  EXPECT_EQ(adds, c.skip ? 4 : 0);
  EXPECT_EQ(convs, 1 + 4 * per_block + shortcuts);
  EXPECT_EQ(pools, c.small_stem ? 0 : 1);
  EXPECT_EQ(layers.front().source, "conv1+bn1");
  EXPECT_EQ(layers.back().source, "fc");
  const at::Tensor ref = m->forward(x);
  EXPECT_LT(relative_to(quant::run_float(layers, x), ref), 1e-5);
  const std::vector<Layer> folded = quant::fold_layers(layers);
  EXPECT_LT(relative_to(quant::run_float(folded, x), ref), 1e-5);

  const quant::Calibration calib = quant::calibrate(folded, calib_x, "minmax", 16);
  const quant::Int8Net q(folded, quant::Mode::Static, &calib);
  const quant::Int8Net d(folded, quant::Mode::Dynamic, nullptr);
  const at::Tensor yq = q.forward(x), yd = d.forward(x),
                   fake = quant::run_fake_quant(layers, calib, x, false);
  ASSERT_EQ(yq.sizes(), ref.sizes());
  // The int8 kernels and the fake-quantized float computation round at the same places; they differ by
  // the kernels' requantize rounding, carried on through the blocks.
  const double step = calib.outputs.back().scale;
  EXPECT_LE((yq - fake).abs().max().item<double>(), 6.01 * step) << "output step " << step;
  EXPECT_LT(relative_to(yq, ref), 0.15) << "static against float";
  EXPECT_LT(relative_to(yd, ref), 0.05) << "dynamic against float";
  EXPECT_GT(relative_to(yq, ref), 0.0) << "the int8 path must not be the float one";
  int int8_adds = 0;
  for (const auto& k : q.kernels()) {
    EXPECT_TRUE(k.int8) << k.layer << ": " << k.kernel;
    int8_adds += k.kernel.rfind("quantized::add_relu", 0) == 0;
  }
  EXPECT_EQ(int8_adds, adds);

  const std::string dir = mednet::testing::temp_dir("int8resnet");
  for (const auto* net : {&q, &d}) {
    quant::write_int8_file(dir + "/m.safetensors", *net, {});
    const quant::Int8Net back = quant::read_int8_file(dir + "/m.safetensors");
    EXPECT_TRUE(torch::equal(back.forward(x), net->forward(x))) << quant::mode_name(net->mode());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Families, ResNetInt8,
    ::testing::Values(Case{"basic2d_small", 2, models::BlockKind::Basic, true, true},
                      Case{"basic2d_large", 2, models::BlockKind::Basic, false, true},
                      Case{"bottleneck2d_small", 2, models::BlockKind::Bottleneck, true, true},
                      Case{"plain2d_small", 2, models::BlockKind::Basic, true, false},
                      Case{"basic3d_small", 3, models::BlockKind::Basic, true, true},
                      Case{"bottleneck3d_large", 3, models::BlockKind::Bottleneck, false, true},
                      Case{"plain3d_large", 3, models::BlockKind::Bottleneck, false, false}),
    [](const ::testing::TestParamInfo<Case>& i) { return std::string(i.param.name); });

TEST(VggInt8, PreparesInFloatThenRunsInt8FromTheInputQuantizeOn) {
  // Grayscale 28-px images, resized to 32 and normalised as for ImageNet weights.
  models::ModelSpec spec;
  spec.name = "vgg16";
  spec.input_size = 32;
  spec.imagenet_norm = true;
  torch::manual_seed(5);
  auto m = models::make_model(spec, data::input_shape(data::find_dataset("breastmnist"), 28));
  m->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor x = smooth_inputs(2, 1, 28, 8, 1), calib_x = smooth_inputs(2, 1, 28, 32, 2);
  const std::vector<Layer> layers = quant::extract_layers(*m);
  ASSERT_EQ(layers.front().op, Layer::Op::Prepare);
  EXPECT_EQ(layers.front().resize, 32);
  const at::Tensor ref = m->forward(x);
  EXPECT_LT(relative_to(quant::run_float(layers, x), ref), 1e-5);
  const std::vector<Layer> folded = quant::fold_layers(layers);
  const quant::Calibration calib = quant::calibrate(folded, calib_x, "minmax", 16);
  const quant::Int8Net q(folded, quant::Mode::Static, &calib);
  const at::Tensor yq = q.forward(x), fake = quant::run_fake_quant(layers, calib, x, false);
  EXPECT_LE((yq - fake).abs().max().item<double>(), 6.01 * calib.outputs.back().scale);
  EXPECT_GT(relative_to(yq, ref), 0.0);
  const auto kernels = q.kernels();
  ASSERT_GE(kernels.size(), 3u);
  EXPECT_FALSE(kernels[0].int8) << kernels[0].kernel;  // the preparation, in float
  EXPECT_EQ(kernels[1].layer, "input");
  for (size_t i = 1; i < kernels.size(); ++i) EXPECT_TRUE(kernels[i].int8) << kernels[i].layer;
  const std::string dir = mednet::testing::temp_dir("int8vgg");
  quant::write_int8_file(dir + "/m.safetensors", q, {});
  EXPECT_TRUE(torch::equal(quant::read_int8_file(dir + "/m.safetensors").forward(x), yq));
}

TEST(ResNetInt8Ops, QuantizedStemPoolEqualsTheFloatPoolIn2DAnd3D) {
  // The large stem's 3 x 3 (x 3) pool with stride 2 and padding 1, on odd and even sizes.
  for (int dims : {2, 3}) {
    for (int64_t size : {7, 8}) {
      torch::manual_seed(size);
      std::vector<int64_t> shape{2, 3, size, size};
      if (dims == 3) shape.push_back(size);
      const at::Tensor q =
          at::quantize_per_tensor(torch::randn(shape).clamp(-2.56, 2.52), 0.04, 64, at::kQUInt8);
      Layer pool;
      pool.op = Layer::Op::MaxPool;
      pool.dims = dims;
      pool.kernel = 3;
      pool.stride = 2;
      pool.padding = 1;
      Layer flat;
      flat.op = Layer::Op::Flatten;
      const at::Tensor ref = quant::max_pool(q.dequantize(), dims, 3, 2, 1).flatten(1);
      Layer lin;
      lin.op = Layer::Op::Linear;
      lin.weight = torch::eye(ref.size(1));
      lin.bias = torch::zeros({ref.size(1)});
      quant::Calibration c;
      c.input = {0.04, 64};
      c.outputs = {c.input, c.input, c.input};
      const quant::Int8Net net({pool, flat, lin}, quant::Mode::Static, &c);
      EXPECT_LT((net.forward(q.dequantize()) - ref).abs().max().item<double>(), 1e-5)
          << dims << "D, size " << size;
    }
  }
}

TEST(ResNetInt8Errors, BrokenGraphsAndModelsWithoutAnInt8FormAreRefused) {
  auto m = trained_like(Case{"b", 2, models::BlockKind::Basic, true, true}, 3);
  std::vector<Layer> layers = quant::fold_layers(quant::extract_layers(*m));
  size_t add = 0;
  while (layers[add].op != Layer::Op::Add) ++add;
  std::vector<Layer> forward_ref = layers;
  forward_ref[add].residual = static_cast<int>(add) + 1;
  EXPECT_NE(mednet::testing::error_of([&] {
              quant::run_float(forward_ref, smooth_inputs(2, 3, 28, 1, 0));
            }).find("(an add needs an earlier layer)"),
            std::string::npos);
  // A shortcut of another shape (the stem's output added after the stride-2 stage).
  std::vector<Layer> mismatched = layers;
  size_t last_add = layers.size() - 1;
  while (layers[last_add].op != Layer::Op::Add) --last_add;
  mismatched[last_add].residual = 0;
  const quant::Int8Net d(mismatched, quant::Mode::Dynamic, nullptr);
  const std::string shapes = mednet::testing::error_of([&] { d.forward(smooth_inputs(2, 3, 28, 1, 0)); });
  EXPECT_NE(shapes.find("adds a shortcut of shape [1, 8, 28, 28] to [1, 16, 7, 7]"), std::string::npos)
      << shapes;

  models::ModelSpec corn;
  corn.head = "corn";
  auto k = models::make_model(corn, data::input_shape(data::find_dataset("retinamnist"), 28));
  const std::string what = mednet::testing::error_of([&] { quant::extract_layers(*k); });
  EXPECT_NE(what.find("does not convert the CORN head"), std::string::npos) << what;
}

}  // namespace
