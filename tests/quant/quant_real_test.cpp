// Full-integer int8 on the real RetinaMNIST (label: real-data): the 2D CNN of Experiment 2A trained
// briefly, converted, and compared with its float self on the test split.
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/core/runtime.h"
#include "mednet/data/dataset.h"
#include "mednet/data/npy.h"
#include "mednet/deploy/export.h"
#include "mednet/deploy/onnx_graph.h"
#include "mednet/experiments/experiment_spec.h"
#include "mednet/quant/int8_file.h"
#include "mednet/quant/quantize_run.h"
#include "mednet/train/trainer.h"
#include "support/fixtures.h"

using namespace mednet;

namespace {

TEST(RealData, StaticInt8RetinaCnnAgreesWithFloat) {
  const char* root = std::getenv("MEDMNIST_ROOT");
  ASSERT_TRUE(root && *root) << "set MEDMNIST_ROOT to the folder with the official files";
  core::set_threads(0);
  const std::string dir = mednet::testing::real_retina_cnn_run(root, 6, "real_quant_run");
  quant::LoadedRun run = quant::load_run(dir, root);
  quant::LatencyOptions no_latency;
  no_latency.enabled = false;
  const quant::Row fp32 = quant::fp32_row(run, no_latency);
  quant::QuantizeOptions o;
  o.mode = quant::Method::Static;
  o.calib = 512;
  o.latency = no_latency;
  const std::string out = mednet::testing::temp_dir("real_quant_out");
  const quant::QuantizeResult r = quant::quantize_run(run, o, out, &fp32);
  std::cout << "fp32 test AUC " << fp32.test_auc << ", int8 " << r.row.test_auc << ", agreement "
            << r.row.agreement << ", size " << r.row.file_bytes << " / " << fp32.file_bytes << " bytes\n";
  EXPECT_GT(r.row.agreement, 0.95);
  EXPECT_LT(std::abs(r.row.test_auc - fp32.test_auc), 0.01);
  EXPECT_LT(static_cast<double>(r.row.file_bytes), 0.3 * static_cast<double>(fp32.file_bytes));
  for (const auto& k : r.kernels) EXPECT_TRUE(k.int8) << k.layer;
  // Honest uncertainty: the int8 AUC's interval holds it, and the paired change against fp32 holds
  // the direct difference; both splits' scores are left as standard result files.
  EXPECT_LE(r.row.test_auc_ci.lo, r.row.test_auc);
  EXPECT_GE(r.row.test_auc_ci.hi, r.row.test_auc);
  EXPECT_LE(r.row.test_auc_change_ci.lo, r.row.test_auc - fp32.test_auc + 1e-12);
  EXPECT_GE(r.row.test_auc_change_ci.hi, r.row.test_auc - fp32.test_auc - 1e-12);
  EXPECT_LT(r.row.test_auc_change_ci.hi - r.row.test_auc_change_ci.lo, 0.05);
  int result_files = 0;
  for (const auto& f : std::filesystem::directory_iterator(out))
    result_files +=
        f.path().filename().string().rfind("retinamnist_", 0) == 0 && f.path().extension() == ".csv";
  EXPECT_EQ(result_files, 2);

  // The same model as QDQ ONNX, run by an interpreter independent of mednet on the 400 test images.
  if (deploy::onnx_available()) {
    deploy::export_run(out, deploy::ExportFormat::Onnx, out + "/model.onnx");
    const at::Tensor x = data::to_network_input(run.data.test.images);
    data::save_npy(out + "/x.npy", x.contiguous());
    data::save_npy(out + "/logits.npy",
                   quant::read_int8_file(out + "/model_int8.safetensors").forward(x).contiguous());
    const auto [rc, text] = mednet::testing::run_command(
        "/usr/bin/python3 " MEDNET_SOURCE_DIR "/tests/scripts/qdq_reference.py --onnx " + out +
        "/model.onnx --input " + out + "/x.npy --logits " + out + "/logits.npy 2>/dev/null");
    ASSERT_EQ(rc, 0) << text;
    std::cout << "QDQ ONNX on the test split: " << text;
    const auto j = nlohmann::json::parse(text.substr(text.find('{')));
    EXPECT_GE(j.at("agreement").get<double>(), 0.99);
  }
}

}  // namespace
