// The int8 model: layer extraction and folding, full-integer and dynamic inference against float, the
// int8 file, quantization-aware training, and the errors a user can meet.
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/data/catalog.h"
#include "mednet/data/dataset.h"
#include "mednet/models/registry.h"
#include "mednet/models/safetensors.h"
#include "mednet/quant/extract.h"
#include "mednet/quant/int8_file.h"
#include "mednet/quant/int8_net.h"
#include "mednet/quant/qat.h"
#include "mednet/quant/quantize_run.h"
#include "support/errors.h"
#include "support/fixtures.h"

using namespace mednet;
using quant::Layer;

namespace {

// The study's CNN with BatchNorm statistics that are not the identity (as after training).
models::Classifier trained_like_cnn(const std::string& flag, uint64_t seed) {
  torch::manual_seed(seed);
  models::ModelSpec spec;
  spec.widths = {8, 16};
  spec.hidden = {32};
  models::Classifier m = models::make_model(spec, mednet::data::input_shape(data::find_dataset(flag), 28));
  torch::NoGradGuard no_grad;
  for (auto& b : m->named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.2, 0.2);
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
  }
  for (auto& p : m->named_parameters()) {
    if (p.key().find("features.1.weight") != std::string::npos) p.value().uniform_(0.5, 1.5);
    if (p.key().find("features.1.bias") != std::string::npos) p.value().uniform_(-0.3, 0.3);
  }
  m->eval();
  return m;
}

at::Tensor inputs(const std::string& flag, int64_t n, uint64_t seed) {
  const auto& info = data::find_dataset(flag);
  std::vector<int64_t> shape{n, info.channels, 28, 28};
  if (info.volumetric) shape.push_back(28);
  torch::manual_seed(seed);
  // Smooth images (blurred noise), so that activations look like those of real scans.
  at::Tensor x = torch::rand(shape);
  x = info.volumetric ? at::avg_pool3d(x, 5, 1, 2) : at::avg_pool2d(x, 5, 1, 2);
  return (x - x.mean()) / x.std() * 0.5;
}

double rel_err(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

class Int8 : public ::testing::TestWithParam<std::string> {};

TEST_P(Int8, FoldedLayersComputeWhatTheModelComputes) {
  auto m = trained_like_cnn(GetParam(), 1);
  const auto layers = quant::extract_layers(*m);
  // conv(+bn+relu), pool, conv, pool, flatten, linear(+relu+dropout), linear
  ASSERT_EQ(layers.size(), 7u);
  EXPECT_EQ(layers[0].source, "features.0+features.1+features.2");
  EXPECT_TRUE(layers[0].bn_weight.defined());
  EXPECT_TRUE(layers[0].relu);
  EXPECT_EQ(layers[1].op, Layer::Op::MaxPool);
  EXPECT_EQ(layers[5].dropout, 0.5);
  const at::Tensor x = inputs(GetParam(), 4, 2);
  torch::NoGradGuard no_grad;
  const at::Tensor ref = m->forward(x);
  EXPECT_LT(rel_err(quant::run_float(layers, x), ref), 1e-5);
  const auto folded = quant::fold_layers(layers);
  EXPECT_FALSE(folded[0].bn_weight.defined());
  EXPECT_TRUE(folded[0].bias.defined());
  EXPECT_LT(rel_err(quant::run_float(folded, x), ref), 1e-5);
}

TEST_P(Int8, FullIntegerAndDynamicStayCloseToFloatAndReloadIdentically) {
  auto m = trained_like_cnn(GetParam(), 3);
  const auto folded = quant::fold_layers(quant::extract_layers(*m));
  const at::Tensor calib = inputs(GetParam(), 64, 4), x = inputs(GetParam(), 32, 5);
  torch::NoGradGuard no_grad;
  const at::Tensor ref = m->forward(x);
  const auto c = quant::calibrate(folded, calib, "minmax", 16);
  EXPECT_EQ(c.samples, 64);
  ASSERT_EQ(c.outputs.size(), folded.size());
  const quant::Int8Net q(folded, quant::Mode::Static, &c);
  const quant::Int8Net d(folded, quant::Mode::Dynamic, nullptr);
  const at::Tensor yq = q.forward(x), yd = d.forward(x);
  ASSERT_EQ(yq.sizes(), ref.sizes());
  EXPECT_EQ(yq.scalar_type(), at::kFloat);
  // The logits differ from float by quantization noise only.
  EXPECT_LT(rel_err(yq, ref), 0.1) << "static";
  EXPECT_LT(rel_err(yd, ref), 0.05) << "dynamic";
  EXPECT_GT(rel_err(yq, ref), 0.0) << "the int8 path must not be the float one";
  for (const auto& k : q.kernels()) EXPECT_TRUE(k.int8) << k.layer << ": " << k.kernel;
  int float_layers = 0;
  for (const auto& k : d.kernels()) float_layers += k.int8 ? 0 : 1;
  EXPECT_EQ(float_layers, 5) << "dynamic: 2 convolutions, 2 pools and flatten run in float";

  const std::string dir = mednet::testing::temp_dir("int8file");
  for (const auto* net : {&q, &d}) {
    const std::string path = dir + "/m.safetensors";
    quant::write_int8_file(path, *net, {{"note", "test"}});
    nlohmann::json info;
    const quant::Int8Net back = quant::read_int8_file(path, &info);
    EXPECT_EQ(info["note"], "test");
    EXPECT_EQ(back.mode(), net->mode());
    EXPECT_TRUE(torch::equal(back.forward(x), net->forward(x))) << quant::mode_name(net->mode());
  }
}

INSTANTIATE_TEST_SUITE_P(TwoAndThreeD, Int8, ::testing::Values("retinamnist", "nodulemnist3d"));

TEST(Int8Ops, QuantizedMaxPool3dEqualsTheFloatPoolOnOddSizes) {
  // 7 -> 3: the last slice of every odd dimension is dropped, as max_pool3d does.
  torch::manual_seed(0);
  // Activations on the levels 0..255 (scale 0.04, zero point 64).
  const at::Tensor x = torch::randn({2, 5, 7, 7, 7}).clamp(-2.56, 2.52);
  const at::Tensor q = at::quantize_per_tensor(x, 0.04, 64, at::kQUInt8);
  Layer pool;
  pool.op = Layer::Op::MaxPool;
  pool.dims = 3;
  pool.kernel = 2;
  pool.stride = 2;
  Layer lin;
  lin.op = Layer::Op::Linear;
  // A net of one pool is enough to reach the int8 pool through the public forward.
  Layer flat;
  flat.op = Layer::Op::Flatten;
  lin.weight = torch::eye(5 * 27);
  lin.bias = torch::zeros({5 * 27});
  quant::Calibration c;
  c.input = {0.04, 64};
  c.outputs = {c.input, c.input, c.input};
  const quant::Int8Net net({pool, flat, lin}, quant::Mode::Static, &c);
  const at::Tensor ref = at::max_pool3d(q.dequantize(), 2).flatten(1);
  // The identity layer re-quantizes on the same grid: the pooled values come back exactly.
  const at::Tensor got = net.forward(q.dequantize());
  EXPECT_LT((got - ref).abs().max().item<double>(), 1e-5);
}

TEST(Int8Errors, UnknownModeCalibrationWithoutSamplesOtherModelsAndBadFiles) {
  EXPECT_THROW(quant::parse_method("int4"), Error);
  try {
    quant::parse_method("int4");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("valid: dynamic, static, qat"), std::string::npos);
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
  }
  auto m = trained_like_cnn("retinamnist", 1);
  const auto folded = quant::fold_layers(quant::extract_layers(*m));
  try {
    quant::calibrate(folded, torch::empty({0, 3, 28, 28}), "minmax", 8);
    ADD_FAILURE() << "calibration with no samples must fail";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at least one sample"), std::string::npos) << e.what();
  }
  EXPECT_THROW(quant::calibrate(folded, inputs("retinamnist", 4, 1), "entropy", 8), Error);

  const std::string dir = mednet::testing::temp_dir("int8bad");
  const quant::Int8Net net(folded, quant::Mode::Dynamic, nullptr);
  quant::write_int8_file(dir + "/m.safetensors", net, {});
  const std::string bytes = mednet::testing::read_file(dir + "/m.safetensors");
  std::ofstream(dir + "/cut.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  EXPECT_THROW(quant::read_int8_file(dir + "/cut.safetensors"), Error);
  mednet::testing::write_safetensors(dir + "/plain.safetensors", {{"w", torch::ones({2})}});
  try {
    quant::read_int8_file(dir + "/plain.safetensors");
    ADD_FAILURE() << "a weights file is not an int8 model";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a mednet int8 model"), std::string::npos) << e.what();
  }
}

TEST(Qat, FineTunesFromTheFloatModelAndConvertsToTheStaticModel) {
  const std::string root = mednet::testing::temp_dir("qatroot");
  mednet::testing::write_fake_medmnist(root + "/retinamnist.npz", "retinamnist", 160, 40, 40);
  const auto& info = data::find_dataset("retinamnist");
  const data::MedMnist m = data::open_medmnist(info, 28, root, nullptr, false);
  auto model = trained_like_cnn("retinamnist", 7);
  const auto layers = quant::extract_layers(*model);
  const auto folded = quant::fold_layers(layers);
  const auto calib =
      quant::calibrate(folded, data::to_network_input(m.train.images.narrow(0, 0, 64)), "minmax", 32);

  // Fake quantization is the int8 model's arithmetic in float: both give the same classes.
  {
    torch::NoGradGuard no_grad;
    const at::Tensor x = data::to_network_input(m.val.images);
    const at::Tensor fake = quant::run_fake_quant(layers, calib, x, false);
    const at::Tensor real = quant::Int8Net(folded, quant::Mode::Static, &calib).forward(x);
    const at::Tensor fp = quant::run_float(folded, x);
    // Layer by layer, the int8 model and its fake-quantized twin differ by a few output steps (the
    // requantize rounding of the int8 kernels, carried on to later layers; measured: at most 3).
    for (size_t k = 1; k <= folded.size(); ++k) {
      const std::vector<Layer> fk(folded.begin(), folded.begin() + k), lk(layers.begin(), layers.begin() + k);
      quant::Calibration ck = calib;
      ck.outputs.resize(k);
      const at::Tensor a = quant::Int8Net(fk, quant::Mode::Static, &ck).forward(x);
      const at::Tensor b = quant::run_fake_quant(lk, ck, x, false);
      EXPECT_LE((a - b).abs().max().item<double>(), 4.01 * ck.outputs[k - 1].scale) << folded[k - 1].source;
    }
    std::cout << "relative difference to int8: fake-quantized " << rel_err(fake, real) << ", float "
              << rel_err(fp, real) << "\n";
    EXPECT_LT(rel_err(fake, real), rel_err(fp, real));
    EXPECT_LT(rel_err(fake, real), 0.05);
  }
  // Gradients reach the convolution weights and BatchNorm scale through the fake-quantize operators.
  {
    std::vector<Layer> trainable = layers;
    trainable[0].weight = trainable[0].weight.clone().set_requires_grad(true);
    trainable[0].bn_weight = trainable[0].bn_weight.clone().set_requires_grad(true);
    const at::Tensor out =
        quant::run_fake_quant(trainable, calib, data::to_network_input(m.train.images.narrow(0, 0, 8)), true);
    out.sum().backward();
    ASSERT_TRUE(trainable[0].weight.grad().defined());
    EXPECT_GT(trainable[0].weight.grad().abs().sum().item<double>(), 0);
    EXPECT_GT(trainable[0].bn_weight.grad().abs().sum().item<double>(), 0);
  }
  quant::QatOptions o;
  o.run_dir = mednet::testing::temp_dir("qat_run");
  o.epochs = 2;
  o.lr = 1e-3;
  std::vector<int> seen;
  const quant::QatResult r =
      quant::train_qat(layers, calib, m, o, [&](const quant::QatEpoch& e) { seen.push_back(e.epoch); });
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2}));
  ASSERT_EQ(r.history.size(), 3u);
  EXPECT_GT(r.history[1].train_loss, 0);
  EXPECT_GE(r.best_epoch, 0);
  double best = -1;
  for (const auto& e : r.history) best = std::max(best, e.val_auc);
  EXPECT_EQ(r.history[r.best_epoch].val_auc, best);
  if (r.best_epoch > 0)
    EXPECT_FALSE(torch::equal(r.layers[0].weight, layers[0].weight)) << "fine-tuning changed nothing";
  // The kept layers convert like post-training static ones.
  const quant::Int8Net net(quant::fold_layers(r.layers), quant::Mode::Static, &calib);
  EXPECT_EQ(net.forward(data::to_network_input(m.test.images)).sizes(), (std::vector<int64_t>{40, 5}));

  o.epochs = 0;
  EXPECT_THROW(quant::train_qat(layers, calib, m, o), Error);
}
}  // namespace

TEST(Int8Errors, DamagedLayerMetadataAndWeightsAreRefusedBeforeAnythingRuns) {
  auto m = trained_like_cnn("retinamnist", 2);
  const quant::Int8Net net(quant::fold_layers(quant::extract_layers(*m)), quant::Mode::Dynamic, nullptr);
  const std::string dir = mednet::testing::temp_dir("int8damaged");
  quant::write_int8_file(dir + "/m.safetensors", net, {});
  const models::TensorFile good = models::read_safetensors_file(dir + "/m.safetensors");
  // Rewrites the file with one change to its description or its tensors and returns the reader's error.
  auto error_after = [&](const std::function<void(nlohmann::json&, models::StateDict&)>& damage) {
    nlohmann::json meta = nlohmann::json::parse(good.metadata.at("mednet"));
    models::StateDict tensors = good.tensors;
    for (auto& t : tensors) t.second = t.second.clone();
    damage(meta, tensors);
    models::write_safetensors(dir + "/bad.safetensors", tensors, {{"mednet", meta.dump()}});
    try {
      quant::read_int8_file(dir + "/bad.safetensors");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  auto tensor = [](models::StateDict& sd, const std::string& key) -> at::Tensor& {
    for (auto& t : sd)
      if (t.first == key) return t.second;
    throw std::runtime_error("no tensor " + key);
  };
  EXPECT_NE(error_after([](auto& j, auto&) { j["layers"][0]["stride"] = 0; }).find("layer 0 has stride 0"),
            std::string::npos);
  EXPECT_NE(error_after([](auto& j, auto&) { j["layers"][0]["kernel"] = -3; }).find("has kernel -3"),
            std::string::npos);
  EXPECT_NE(error_after([](auto& j, auto&) { j["layers"][0]["padding"] = 5; }).find("has padding 5"),
            std::string::npos);
  EXPECT_NE(error_after([](auto& j, auto&) { j["layers"][0]["out_scale"] = 0.0; }).find("has scale 0"),
            std::string::npos);
  EXPECT_NE(error_after([](auto& j, auto&) { j["input"]["zero_point"] = 300; }).find("has zero point 300"),
            std::string::npos);
  EXPECT_NE(error_after([&](auto&, auto& sd) {
              tensor(sd, "layers.0.weight").view(-1)[0] = 100;
            }).find("weights outside the int8 range the conversion writes (-63..63)"),
            std::string::npos);
  EXPECT_NE(error_after([](auto& j, auto&) { j["layers"][0]["out_scale"] = 1e300; }).find("has scale 1e+300"),
            std::string::npos);
  // An infinite scale is refused when the file is read, as every non-finite weight is (models/state_dict.h).
  EXPECT_NE(error_after([&](auto&, auto& sd) {
              tensor(sd, "layers.0.weight_scale").view(-1)[1] = std::numeric_limits<double>::infinity();
            }).find("tensor 'layers.0.weight_scale' holds 1 non-finite value"),
            std::string::npos);
  for (double bad : {0.0, -1.0, 6e228, 1e-300}) {
    EXPECT_NE(error_after([&](auto&, auto& sd) {
                tensor(sd, "layers.0.weight_scale").view(-1)[1] = bad;
              }).find("a weight scale is not finite and > 0"),
              std::string::npos)
        << bad;
  }
  EXPECT_NE(error_after([&](auto&, auto& sd) {
              tensor(sd, "layers.0.weight") = tensor(sd, "layers.0.weight").narrow(3, 0, 2).contiguous();
            }).find("disagrees with kernel 3"),
            std::string::npos);
  EXPECT_EQ(error_after([](auto&, auto&) {}), "");  // the unchanged file reads
}

TEST(Int8Errors, FuzzFindingsAreRefusedCleanly) {
  // Inputs that once ended the process under make fuzz (as the harness does: read, then run on the
  // model's input shape): a weight scale of 6e228, inf as float32, inside LibTorch's linear_prepack; a
  // padding changed from 1 to 0, so that 676 features reached a layer made for 784.
  const std::string dir = std::string(MEDNET_SOURCE_DIR) + "/tests/quant/fuzz_regressions/int8";
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    ++n;
    const std::string what = mednet::testing::error_of([&] {
      quant::read_int8_file(e.path().string()).forward(torch::zeros({1, 3, 28, 28}));
    });
    EXPECT_TRUE(what.find(e.path().string() + ": layer") == 0 ||
                what.find("int8 layer 3 (head.1+head.2+head.3) with weights [8, 784] gets input [1, 676]") ==
                    0)
        << what;
  }
  EXPECT_GT(n, 0);
}
