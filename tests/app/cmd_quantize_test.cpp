// mednet quantize and its experiment file as a user runs them.
#include "app/cli_fixture.h"

using namespace mednet::testing;
namespace fs = std::filesystem;

namespace {

TEST_F(Cli, QuantizeDynamicStaticQatEvalAndTheExperimentFile) {
  const std::string root = fake_medmnist_root("retinamnist", 120, 40, 40);
  const std::string common = " --root " + root + " --threads 2 --skip-md5";
  const std::string run = home_ + "/run";
  auto [rc, text] = mednet(
      "train --dataset retinamnist --widths 8,16 --epochs 3 --device cpu --out " + run + common, home_);
  ASSERT_EQ(rc, 0) << text;

  for (const std::string mode : {"static", "dynamic", "qat"}) {
    const std::string out = home_ + "/q_" + mode;
    std::tie(rc, text) = mednet(
        "quantize --run " + run + " --mode " + mode + " --calib 64 --qat-epochs 1 --out " + out + common,
        home_);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_TRUE(contains(text, "| fp32 |")) << text;
    EXPECT_TRUE(contains(text, mode == "static" ? "quantized::conv2d_relu.new" : "quantized::linear"))
        << text;
    if (mode == "dynamic") EXPECT_TRUE(contains(text, "FLOAT  features.0")) << text;
    if (mode == "qat") EXPECT_TRUE(contains(text, "epoch 1: train loss")) << text;
    const auto q = nlohmann::json::parse(read_file(out + "/quant.json"));
    EXPECT_EQ(q["info"]["mode"], mode);
    // int8 weights: about a quarter of the float file
    EXPECT_LT(q["size_ratio"].get<double>(), 0.3) << q.dump();
    EXPECT_EQ(q["int8"]["file_bytes"].get<int64_t>(),
              static_cast<int64_t>(fs::file_size(out + "/model_int8.safetensors")));
    EXPECT_GT(q["int8"]["ms_batch256"].get<double>(), 0);
    // mednet eval runs the int8 directory and prints the same test scores.
    std::tie(rc, text) = mednet("eval --run " + out + common, home_);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_TRUE(contains(text, "cnn int8 on RetinaMNIST")) << text;
    char auc[32];
    std::snprintf(auc, sizeof auc, "AUC %.3f", q["int8"]["test_auc"].get<double>());
    EXPECT_TRUE(contains(text, auc)) << auc << "\n" << text;
  }

  expect_usage_error("quantize --run " + run + " --mode static --calib 0 --out " + home_ + "/x" + common,
                     "calibration needs at least 1 training sample");
  expect_usage_error("quantize --run " + run + " --mode int4 --out " + home_ + "/x" + common,
                     "valid: dynamic, static, qat");
  expect_usage_error("quantize --run " + home_ + "/q_static --mode static --out " + home_ + "/x" + common,
                     "already holds an int8 model");

  // The experiment file: two variants of one run, targets checked, plots drawn.
  const std::string exp = home_ + "/exp.json";
  std::ofstream(exp) << R"({"name": "t", "description": "d", "calib": 64,
    "latency": {"repeats_large": 2, "repeats_single": 3},
    "models": [{"name": "cnn2d", "label": "2D CNN", "run": ")"
                     << run << R"("}],
    "variants": [{"name": "static", "mode": "static"}, {"name": "dynamic", "mode": "dynamic"}]})";
  std::tie(rc, text) = mednet("quantize --config " + exp + " --out " + home_ + "/exp2d" + common, home_);
  ASSERT_EQ(rc, 0) << text;
  const std::string md = read_file(home_ + "/exp2d/summary.md");
  EXPECT_TRUE(contains(md, "## 2D CNN")) << md;
  EXPECT_TRUE(contains(md, "| fp32 |")) << md;
  EXPECT_TRUE(contains(md, "static: file 0.2")) << md;
  EXPECT_TRUE(contains(md, "- dynamic: features.0+features.1+features.2: float conv2d"))
      << "dynamic convolutions are named as float\n"
      << md;
  EXPECT_TRUE(fs::exists(home_ + "/exp2d/cnn2d/static/model_int8.safetensors"));
  const auto summary = nlohmann::json::parse(read_file(home_ + "/exp2d/summary.json"));
  EXPECT_EQ(summary["models"][0]["rows"].size(), 3u);
  if (contains(text, "size_vs_auc.png")) EXPECT_GT(png_size(home_ + "/exp2d/size_vs_auc.png").first, 0);
  std::ofstream(exp)
      << R"({"name": "t", "models": [{"name": "m", "run": "/nowhere", "made_by": "mednet train ..."}],
    "variants": [{"name": "s", "mode": "static"}]})";
  expect_usage_error("quantize --config " + exp + " --out " + home_ + "/x" + common,
                     "train it first (mednet train ...)");
}

}  // namespace
