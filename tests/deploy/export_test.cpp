// mednet export: every network kind written as .safetensors and ONNX, then read back by independent
// code (tests/scripts/check_export.py): PyTorch rebuilds the network from the file alone
// (scripts/mednet_torch.py), onnx.checker checks the graph, OpenCV's dnn runs it; each must match
// mednet's logits within 1e-4 of the largest logit.
#include "mednet/deploy/export.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/data/npy.h"
#include "mednet/deploy/onnx_export.h"
#include "mednet/models/registry.h"
#include "mednet/models/safetensors.h"
#include "support/errors.h"
#include "support/fixtures.h"

using namespace mednet;

namespace {

struct Case {
  std::string tag;
  std::string flag;  // dataset: its channels, dimensionality and classes
  int size;
  models::ModelSpec spec;
  std::string torchvision = "";  // torchvision model the .safetensors must load into by name
};

models::ModelSpec spec(const std::string& name, std::vector<int64_t> widths = {}) {
  models::ModelSpec s;
  s.name = name;
  s.widths = std::move(widths);
  return s;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  out.push_back({"cnn2d", "retinamnist", 28, spec("cnn", {8, 16})});
  out.push_back({"cnn3d", "adrenalmnist3d", 28, spec("cnn", {4, 8})});
  models::ModelSpec pooled = spec("cnn", {6, 12});
  pooled.global_pool = true;
  pooled.convs_per_stage = 2;
  pooled.hidden = {16, 8};
  out.push_back({"cnn2d-gray-pooled-2convs", "pneumoniamnist", 28, pooled});
  out.push_back({"cnn3d-pooled", "organmnist3d", 28, [&] {
                   models::ModelSpec s = spec("cnn", {4, 8});
                   s.global_pool = true;
                   return s;
                 }()});
  out.push_back({"resnet18-small-stem", "retinamnist", 28, spec("resnet18", {8, 16, 16, 32})});
  models::ModelSpec corn_cnn = spec("cnn", {8, 16});
  corn_cnn.head = "corn";
  out.push_back({"corn-cnn2d", "retinamnist", 28, corn_cnn});
  models::ModelSpec corn_resnet = spec("resnet18", {8, 8, 8, 8});
  corn_resnet.head = "corn";
  out.push_back({"corn-resnet18", "retinamnist", 28, corn_resnet});
  models::ModelSpec std_stem = spec("resnet18", {8, 8, 16, 16});
  std_stem.stem = "standard";
  out.push_back({"resnet18-3d-standard-stem", "adrenalmnist3d", 28, std_stem});
  models::ModelSpec tv = spec("resnet18");
  tv.stem = "standard";
  out.push_back({"resnet18-torchvision", "retinamnist", 28, tv, "resnet18"});
  out.push_back({"resnet50-bottleneck", "pneumoniamnist", 28, spec("resnet50", {4, 8, 8, 8})});
  out.push_back({"plain18", "retinamnist", 28, spec("plain18", {8, 8, 16, 16})});
  models::ModelSpec vgg = spec("vgg16");
  vgg.input_size = 32;
  vgg.imagenet_norm = true;
  vgg.hidden = {16};
  out.push_back({"vgg16-gray-resized-imagenet", "pneumoniamnist", 28, vgg});
  models::ModelSpec vgg_rgb = spec("vgg16");
  vgg_rgb.input_size = 32;
  out.push_back({"vgg16-rgb-32", "retinamnist", 32, vgg_rgb});
  return out;
}

}  // namespace

TEST(Export, EveryNetworkKindMatchesPyTorchAndOnnxRuntimes) {
  core::set_threads(2);
  torch::manual_seed(3);
  const std::string dir = mednet::testing::temp_dir("export");
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.tag);
    const data::DatasetInfo& info = data::find_dataset(c.flag);
    models::Classifier model = models::make_model(c.spec, data::input_shape(info, c.size));
    mednet::testing::randomize_batch_norm(*model);  // the files must carry the statistics to match
    model->eval();
    std::vector<int64_t> shape{3, info.channels};
    for (int i = 0; i < info.spatial_dims(); ++i) shape.push_back(c.size);
    const at::Tensor x = torch::rand(shape) * 2 - 1;
    at::Tensor logits;
    {
      torch::NoGradGuard no_grad;
      logits = model->forward(x);
    }
    const std::string base = dir + "/" + c.tag;
    data::save_npy(base + ".x.npy", x);
    data::save_npy(base + ".logits.npy", logits.contiguous());
    deploy::ExportSource source;
    source.info = &info;
    source.size = c.size;
    const deploy::ExportResult st = deploy::export_safetensors(*model, source, base + ".safetensors");
    EXPECT_GT(st.tensors, 0u);
    std::string cmd = "/usr/bin/python3 " MEDNET_SOURCE_DIR "/tests/scripts/check_export.py --input " + base +
                      ".x.npy --logits " + base + ".logits.npy --safetensors " + base + ".safetensors";
    if (!c.torchvision.empty()) cmd += " --torchvision " + c.torchvision;
    if (deploy::onnx_available()) {
      deploy::export_onnx(*model, source, base + ".onnx");
      cmd += " --onnx " + base + ".onnx";
    }
    const auto [rc, out] = mednet::testing::run_command(cmd + " 2>&1");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("\"torch\": "), std::string::npos) << out;
    if (deploy::onnx_available()) {
      EXPECT_NE(out.find("\"checker\": \"ok\""), std::string::npos) << out;
      EXPECT_NE(out.find("\"opencv\": "), std::string::npos) << out;
    }
    if (!c.torchvision.empty()) EXPECT_NE(out.find("\"torchvision\": "), std::string::npos) << out;
    std::cout << "[ export ] " << c.tag << ": " << out;
    if (c.tag == "cnn2d") {
      // The check can fail: logits off by 1e-3 of their range are rejected.
      data::save_npy(base + ".off.npy", (logits + 1e-3 * logits.abs().max()).contiguous());
      const auto off = mednet::testing::run_command(
          "/usr/bin/python3 " MEDNET_SOURCE_DIR "/tests/scripts/check_export.py --input " + base +
          ".x.npy --logits " + base + ".off.npy --safetensors " + base + ".safetensors 2>&1");
      EXPECT_EQ(off.first, 1) << off.second;
    }
  }
}

TEST(Export, SafetensorsCarriesTheArchitectureLabelsAndInput) {
  const data::DatasetInfo& info = data::find_dataset("retinamnist");
  models::ModelSpec s = spec("resnet18", {8, 8, 8, 8});
  models::Classifier model = models::make_model(s, data::input_shape(info, 28));
  deploy::ExportSource source;
  source.info = &info;
  source.size = 28;
  const std::string path = mednet::testing::temp_dir("export-meta") + "/m.safetensors";
  deploy::export_safetensors(*model, source, path);
  const models::TensorFile f = models::read_safetensors_file(path);
  const auto arch = nlohmann::json::parse(f.metadata.at("mednet.architecture"));
  EXPECT_EQ(arch.at("kind"), "resnet");
  EXPECT_EQ(arch.at("classes"), 5);
  EXPECT_EQ(arch.at("small_stem"), true);
  EXPECT_EQ(arch.at("widths"), nlohmann::json({8, 8, 8, 8}));
  EXPECT_EQ(nlohmann::json::parse(f.metadata.at("mednet.labels")).size(), 5u);
  EXPECT_NE(f.metadata.at("mednet.input").find("[N, 3, 28, 28]"), std::string::npos);
  s.head = "corn";
  deploy::export_safetensors(*models::make_model(s, data::input_shape(info, 28)), source, path);
  const auto corn =
      nlohmann::json::parse(models::read_safetensors_file(path).metadata.at("mednet.architecture"));
  EXPECT_EQ(corn.at("kind"), "resnet");
  EXPECT_EQ(corn.at("head"), "corn");
  EXPECT_EQ(corn.at("classes"), 5);  // classes; the network itself has 4 outputs
  int64_t fc_rows = 0;
  for (const auto& [name, t] : models::read_safetensors_file(path).tensors)
    if (name == "fc.weight") fc_rows = t.size(0);
  EXPECT_EQ(fc_rows, 4);
  // torchvision's names, BatchNorm's counter as int64.
  bool has_downsample = false;
  for (const auto& [name, t] : f.tensors) {
    if (name == "layer2.0.downsample.0.weight") has_downsample = true;
    if (name.find("num_batches_tracked") != std::string::npos) {
      EXPECT_EQ(t.scalar_type(), at::kLong) << name;
    } else {
      EXPECT_EQ(t.scalar_type(), at::kFloat) << name;
    }
  }
  EXPECT_TRUE(has_downsample);
}

TEST(Export, FormatAndRunErrorsAreNamed) {
  try {
    deploy::parse_export_format("tflite");
    FAIL() << "an unknown format must be a usage error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("--format"), std::string::npos);
  }
  EXPECT_EQ(deploy::parse_export_format("onnx"), deploy::ExportFormat::Onnx);
  const std::string dir = mednet::testing::temp_dir("export-errors");
  try {
    deploy::export_run(dir + "/missing", deploy::ExportFormat::Safetensors, dir + "/x.safetensors");
    FAIL() << "a missing run folder must be an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
}

TEST(Export, Int8RunsCopyTheirFileAndReadItForOnnx) {
  const std::string dir = mednet::testing::temp_dir("export-int8");
  models::write_safetensors(dir + "/model_int8.safetensors",
                            {{"layers.0.weight", torch::ones({2, 2}, at::kChar)}},
                            {{"format", "mednet-int8"}});
  // ONNX reads the int8 file (deploy/onnx_int8.h; tests/deploy/onnx_int8_test.cpp): this one is no model.
  const std::string what = mednet::testing::error_of(
      [&] { deploy::export_run(dir, deploy::ExportFormat::Onnx, dir + "/m.onnx"); });
  EXPECT_NE(what.find("is not a mednet int8 model"), std::string::npos) << what;
  const deploy::ExportResult r =
      deploy::export_run(dir, deploy::ExportFormat::Safetensors, dir + "/out.safetensors");
  EXPECT_EQ(mednet::testing::read_file(dir + "/out.safetensors"),
            mednet::testing::read_file(dir + "/model_int8.safetensors"));
  EXPECT_EQ(r.bytes, static_cast<int64_t>(mednet::testing::read_file(dir + "/out.safetensors").size()));
}
