// The mednet program as a user runs it: exit codes, messages, files.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "mednet/data/download.h"
#include "mednet/data/npy.h"
#include "support/fixtures.h"
#include "support/http_server.h"

using namespace mednet::testing;
namespace fs = std::filesystem;

namespace {

// Runs mednet with a clean environment: HOME in a temp folder, no MEDMNIST_ROOT.
std::pair<int, std::string> mednet(const std::string& args, const std::string& home) {
  return run_command("env -u MEDMNIST_ROOT HOME=" + home + " XDG_CACHE_HOME=" + home + "/.cache " +
                     MEDNET_BIN + " " + args);
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override { home_ = temp_dir("home"); }
  std::string home_;
};

TEST_F(Cli, NoSubcommandIsAUsageError) {
  auto [rc, out] = mednet("", home_);
  EXPECT_EQ(rc, 2) << out;
}

TEST_F(Cli, UnknownOptionIsAUsageError) {
  auto [rc, out] = mednet("train --bogus 1", home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, "--bogus")) << out;
}

TEST_F(Cli, UnknownDatasetListsValidFlags) {
  auto [rc, out] = mednet("info adrenal", home_);
  EXPECT_EQ(rc, 2);
  EXPECT_TRUE(contains(out, "unknown dataset 'adrenal'")) << out;
  EXPECT_TRUE(contains(out, "adrenalmnist3d")) << out;
  std::tie(rc, out) = mednet("train --dataset nosuchmnist --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 2) << out;
}

TEST_F(Cli, MissingDataFileIsARuntimeErrorWithAHint) {
  auto [rc, out] =
      mednet("train --dataset nodulemnist3d --root " + home_ + "/none --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(contains(out, "cannot find nodulemnist3d.npz")) << out;
  EXPECT_TRUE(contains(out, "mednet fetch nodulemnist3d")) << out;
}

TEST_F(Cli, MissingConfigAndCorruptFile) {
  auto [rc, out] = mednet("train --config " + home_ + "/nope.json --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, "cannot open config")) << out;
  const std::string root = temp_dir("root");
  std::ofstream(root + "/nodulemnist3d.npz") << "truncated";
  std::tie(rc, out) = mednet("info nodulemnist3d --root " + root, home_);
  EXPECT_EQ(rc, 1) << out;  // the listing goes on, and the damaged file makes it fail
  EXPECT_TRUE(contains(out, "unreadable")) << out;
  EXPECT_TRUE(contains(out, "mednet: error: " + root + "/nodulemnist3d.npz is unreadable")) << out;
}

TEST_F(Cli, HostileConfigsAndOutFoldersAreRefusedWithTheirNames) {
  // A pipe as --config would block for ever; a config nested 100,000 deep would overflow the stack.
  const std::string fifo = home_ + "/pipe.json";
  ASSERT_EQ(system(("mkfifo " + fifo).c_str()), 0);
  auto [rc, out] = mednet("train --config " + fifo + " --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, fifo + " is not a regular file")) << out;
  const std::string deep = home_ + "/deep.json";
  std::ofstream(deep) << std::string(100000, '[') << std::string(100000, ']');
  std::tie(rc, out) = mednet("train --config " + deep + " --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, deep + ": nested deeper than 64 levels")) << out;
  const std::string cfg = home_ + "/mine/config.json";
  fs::create_directories(home_ + "/mine");
  std::ofstream(cfg) << R"({"dataset": "nodulemnist3d", "epochs": 4294967297})";
  std::tie(rc, out) = mednet("train --config " + cfg + " --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, cfg + ": config key 'epochs' is out of range: 4294967297")) << out;
  // --out on the folder that holds the person's own config: refused, the file untouched.
  std::ofstream(cfg) << R"({"dataset": "nodulemnist3d", "epochs": 2})";
  std::tie(rc, out) = mednet("train --config " + cfg + " --out " + home_ + "/mine", home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, "/mine is not empty and holds no finished epoch")) << out;
  EXPECT_EQ(read_file(cfg), R"({"dataset": "nodulemnist3d", "epochs": 2})");
  std::tie(rc, out) = mednet("train --dataset nodulemnist3d --seed -3 --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, "--seed must be >= 0, got -3")) << out;
}

TEST_F(Cli, FileThatIsNotTheOfficialReleaseIsRefused) {
  const std::string root = temp_dir("root");
  write_fake_medmnist(root + "/nodulemnist3d.npz", "nodulemnist3d", 4, 2, 2);
  auto [rc, out] = mednet("train --dataset nodulemnist3d --root " + root + " --out " + home_ + "/r", home_);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(contains(out, "but the official file has 8755a7e9e05a4d9ce80a24c3e7a256f3")) << out;
  EXPECT_FALSE(fs::exists(home_ + "/r/state.json"));
}

TEST_F(Cli, InfoPrintsTheCatalogAndFileCounts) {
  auto [rc, out] = mednet("info", home_);
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(contains(out, "18 datasets")) << out;
  const std::string root = temp_dir("root");
  write_fake_medmnist(root + "/nodulemnist3d.npz", "nodulemnist3d", 7, 3, 2);
  std::tie(rc, out) = mednet("info nodulemnist3d --root " + root, home_);
  EXPECT_EQ(rc, 0);
  EXPECT_TRUE(contains(out, "found: " + root + "/nodulemnist3d.npz")) << out;
  EXPECT_TRUE(contains(out, "train      7 samples  (catalog says 1158)")) << out;
}

TEST_F(Cli, TrainEvalAndResumeOnAGeneratedNoduleFile) {
  const std::string root = temp_dir("root");
  write_fake_medmnist(root + "/nodulemnist3d.npz", "nodulemnist3d", 64, 32, 32);
  const std::string run = home_ + "/run";
  const std::string common = " --root " + root + " --widths 4,8 --threads 2 --device cpu --skip-md5";
  auto [rc, out] =
      mednet("train --config " MEDNET_SOURCE_DIR "/experiments/exp1_cnn3d_nodule.json --epochs 2" + common +
                 " --out " + run,
             home_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(contains(out, "v2 ResNet-18+3D")) << out;  // printed beside the benchmark rows
  EXPECT_TRUE(contains(out, "MD5 not checked (--skip-md5)")) << out;
  for (const char* f : {"config.json", "history.csv", "metrics.json", "best.pt"}) {
    EXPECT_TRUE(fs::exists(run + "/" + f)) << f;
  }
  const auto metrics = nlohmann::json::parse(read_file(run + "/metrics.json"));
  for (const char* k :
       {"dataset", "size", "model", "seed", "epochs_run", "best_epoch", "params", "train_seconds"}) {
    EXPECT_TRUE(metrics.contains(k)) << k;
  }
  EXPECT_EQ(metrics["dataset"], "nodulemnist3d");
  EXPECT_EQ(metrics["epochs_run"], 2);
  const double test_auc = metrics["test"]["auc"].get<double>();
  const auto config = nlohmann::json::parse(read_file(run + "/config.json"));
  EXPECT_EQ(config["model"]["widths"], nlohmann::json({4, 8}));
  EXPECT_EQ(config["seed"], 0);

  // eval reproduces the test numbers of the run
  std::tie(rc, out) = mednet("eval --run " + run + " --threads 2 --skip-md5", home_);
  ASSERT_EQ(rc, 0) << out;
  char auc[32];
  std::snprintf(auc, sizeof auc, "AUC %.3f", test_auc);
  EXPECT_TRUE(contains(out, std::string("test: ") + auc)) << out;

  // an existing run is never overwritten; --resume continues it
  std::tie(rc, out) = mednet("train --dataset nodulemnist3d" + common + " --out " + run, home_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_TRUE(contains(out, "already holds a run")) << out;
  std::tie(rc, out) = mednet("train --resume " + run + " --epochs 3 --threads 2 --skip-md5", home_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(contains(out, "epoch   3/3")) << out;
  EXPECT_EQ(nlohmann::json::parse(read_file(run + "/metrics.json"))["epochs_run"], 3);
  std::tie(rc, out) = mednet("train --resume " + run + " --lr 0.1", home_);
  EXPECT_EQ(rc, 2) << out;

  std::tie(rc, out) = mednet("eval --run " + home_ + "/nothing", home_);
  EXPECT_EQ(rc, 2) << out;
}

TEST_F(Cli, FetchRejectsAFileWithTheWrongMd5) {
  if (!mednet::data::download_available()) GTEST_SKIP() << "this build cannot download";
  LoopbackHttpServer server("not the official file", LoopbackHttpServer::Mode::Serve);
  const std::string root = temp_dir("fetch");
  auto [rc, out] = mednet("fetch nodulemnist3d --root " + root + " --url " + server.url(), home_);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_TRUE(contains(out, "does not match the expected 8755a7e9e05a4d9ce80a24c3e7a256f3")) << out;
  EXPECT_FALSE(fs::exists(root + "/nodulemnist3d.npz"));
  EXPECT_FALSE(fs::exists(root + "/nodulemnist3d.npz.part"));
}

}  // namespace

namespace {

// True unless the build says it cannot draw pictures.
bool report_available(const std::string& text) {
  return !contains(text, "no cairo") && !contains(text, "no image output");
}

// PNG width and height from the IHDR chunk.
std::pair<int, int> png_size(const std::string& path) {
  const std::string b = read_file(path);
  if (b.size() < 24 || b.compare(1, 3, "PNG") != 0) return {0, 0};
  auto be32 = [&](size_t o) {
    return (static_cast<unsigned char>(b[o]) << 24) | (static_cast<unsigned char>(b[o + 1]) << 16) |
           (static_cast<unsigned char>(b[o + 2]) << 8) | static_cast<unsigned char>(b[o + 3]);
  };
  return {static_cast<int>(be32(16)), static_cast<int>(be32(20))};
}

TEST_F(Cli, ExperimentOnAGeneratedChestFileMultiLabelResNetAndPlainTwin) {
  // ChestMNIST (14 labels, multi-label) in the official format; two tiny arms, one seed.
  const std::string root = temp_dir("chest");
  write_fake_medmnist(root + "/chestmnist.npz", "chestmnist", 64, 32, 32);
  const std::string file = root + "/exp.json";
  std::ofstream(file) << R"({
    "name": "tiny", "seeds": [5], "gradient_flow": ["res", "plain"],
    "base": {"dataset": "chestmnist", "epochs": 2, "batch_size": 16, "patience": 0, "threads": 2,
             "device": "cpu", "grad_norm_epochs": 1,
             "model": {"name": "resnet18", "widths": [4, 4, 8, 8]}},
    "arms": [{"name": "res", "label": "ResNet-18"},
             {"name": "plain", "label": "plain-18", "config": {"model": {"name": "plain18"},
              "augment": [{"type": "flip", "axes": [1]}, {"type": "translate", "fraction": 0.1}]}}]})";
  const std::string out = home_ + "/exp";
  auto [rc, text] =
      mednet("experiment --config " + file + " --out " + out + " --root " + root + " --skip-md5", home_);
  ASSERT_EQ(rc, 0) << text;
  EXPECT_TRUE(contains(text, "augmenting training batches: flip, translate")) << text;
  for (const char* f : {"summary.md", "summary.json", "experiment.json", "res/seed5/metrics.json",
                        "plain/seed5/best.pt", "res/seed5/grad_norms.csv"}) {
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  }
  const auto summary = nlohmann::json::parse(read_file(out + "/summary.json"));
  ASSERT_EQ(summary["arms"].size(), 2u);
  for (const auto& arm : summary["arms"]) {
    EXPECT_EQ(arm["seeds_finished"], 1);
    EXPECT_TRUE(arm["test_auc_mean"].is_number()) << arm.dump();  // multi-label AUC: mean over 14 labels
  }
  EXPECT_GT(summary["arms"][0]["params"].get<double>(), summary["arms"][1]["params"].get<double>());
  const auto metrics = nlohmann::json::parse(read_file(out + "/res/seed5/metrics.json"));
  EXPECT_EQ(metrics["model"], "resnet18");
  const std::string md = read_file(out + "/summary.md");
  EXPECT_TRUE(contains(md, "| ResNet-18 | chestmnist 28 | resnet18 |")) << md;
  EXPECT_TRUE(contains(md, "AUC change")) << md;
  // 17 convolutions + fc on the depth axis (projection shortcuts left out), first step and epoch 1
  const std::string csv = read_file(out + "/res/seed5/grad_norms.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 2 * 18) << csv;
  EXPECT_TRUE(contains(csv, "0,18,fc.weight,")) << csv;
  if (contains(text, "curves.png")) {
    EXPECT_GT(png_size(out + "/curves.png").first, 0);
    EXPECT_GT(png_size(out + "/gradient_flow.png").first, 0);
  }
  // Running it again trains nothing and rewrites the same table.
  auto [rc2, text2] =
      mednet("experiment --config " + file + " --out " + out + " --root " + root + " --skip-md5", home_);
  EXPECT_EQ(rc2, 0) << text2;
  EXPECT_TRUE(contains(text2, "already finished")) << text2;
  EXPECT_EQ(read_file(out + "/summary.md"), md);
  // a single-run command refuses the experiment file
  std::tie(rc2, text2) = mednet("train --config " + file + " --out " + home_ + "/x", home_);
  EXPECT_EQ(rc2, 2) << text2;
  EXPECT_TRUE(contains(text2, "mednet experiment")) << text2;
}

TEST_F(Cli, AugmentWritesAGridOfOriginalsAndAugmentedImages) {
  const std::string root = temp_dir("aug");
  write_fake_medmnist(root + "/chestmnist.npz", "chestmnist", 8, 4, 4);
  write_fake_medmnist(root + "/nodulemnist3d.npz", "nodulemnist3d", 4, 2, 2);
  const std::string png = home_ + "/grid.png";
  auto [rc, text] = mednet(
      "augment --dataset chestmnist --n 4 --scale 2 --root " + root + " --skip-md5 --out " + png, home_);
  if (contains(text, "no image output")) GTEST_SKIP() << "built without cairo";
  ASSERT_EQ(rc, 0) << text;
  // 8 tiles of 56 px in one row of 8 columns: width 8 * (56 + 8) + 8 (or the title's, if wider),
  // height 34 + (56 + 30 + 8) + 8
  const auto [w, h] = png_size(png);
  EXPECT_GE(w, 520);
  EXPECT_EQ(h, 136);
  std::tie(rc, text) =
      mednet("augment --dataset nodulemnist3d --n 2 --root " + root + " --skip-md5 --out " + png, home_);
  ASSERT_EQ(rc, 0) << text;
  EXPECT_TRUE(contains(text, "middle slice per axis")) << text;
  const std::string bad = home_ + "/bad.json";
  std::ofstream(bad) << R"({"dataset": "chestmnist", "augment": [{"type": "flip", "axes": [2]}]})";
  std::tie(rc, text) =
      mednet("augment --config " + bad + " --root " + root + " --skip-md5 --out " + png, home_);
  EXPECT_EQ(rc, 2) << text;
  EXPECT_TRUE(contains(text, "axis 2 does not exist")) << text;
}

TEST_F(Cli, CamOnTrained2DAnd3DRunsWritesMapsPicturesAndFaithfulness) {
  const std::string root = temp_dir("camroot");
  write_fake_medmnist(root + "/nodulemnist3d.npz", "nodulemnist3d", 64, 16, 16);
  write_fake_medmnist(root + "/retinamnist.npz", "retinamnist", 80, 20, 20);
  const std::string common = " --root " + root + " --threads 2 --device cpu --skip-md5";
  for (const std::string flag : {"nodulemnist3d", "retinamnist"}) {
    const std::string run = home_ + "/run_" + flag, out = home_ + "/cam_" + flag;
    auto [rc, text] =
        mednet("train --dataset " + flag + " --widths 4,8 --epochs 3 --out " + run + common, home_);
    ASSERT_EQ(rc, 0) << text;
    std::tie(rc, text) =
        mednet("cam --run " + run + " --samples 4 --method gradcampp --out " + out + common, home_);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_TRUE(contains(text, "model randomisation")) << text;
    EXPECT_TRUE(contains(text, "area under the curve")) << text;
    const at::Tensor maps = mednet::data::load_npy(out + "/heatmaps.npy");
    const bool is3d = flag == "nodulemnist3d";
    EXPECT_EQ(maps.sizes(), is3d ? std::vector<int64_t>({4, 28, 28, 28}) : std::vector<int64_t>({4, 28, 28}));
    EXPECT_GE(maps.min().item<float>(), 0.0f);
    EXPECT_LE(maps.max().item<float>(), 1.0f);
    const auto j = nlohmann::json::parse(read_file(out + "/cam.json"));
    EXPECT_EQ(j["samples"].size(), 4u);
    EXPECT_EQ(j["layer"], "stage2");
    EXPECT_EQ(j["deletion"]["by_map"].size(), 6u);
    if (report_available(text)) {
      const std::string png = out + (is3d ? "/cam_planes.png" : "/cam_grid.png");
      // 2D: 3 tiles per sample, 6 columns -> 2 rows of 224-px tiles; 3D: 3 planes per sample -> 2 rows
      EXPECT_EQ(png_size(png).second, 34 + 2 * (224 + 30 + 8) + 8) << png;
      EXPECT_GT(png_size(out + "/deletion.png").first, 0);
    }
  }
  const std::string run = home_ + "/run_retinamnist";
  auto [rc, text] = mednet("cam --run " + run + " --layer stage7 --out " + home_ + "/x" + common, home_);
  EXPECT_EQ(rc, 2) << text;
  EXPECT_TRUE(contains(text, "valid: stage1, stage2")) << text;
  std::tie(rc, text) = mednet("cam --run " + run + " --target 9 --out " + home_ + "/x" + common, home_);
  EXPECT_EQ(rc, 2) << text;
  EXPECT_TRUE(contains(text, "class index 0..4")) << text;
  std::tie(rc, text) =
      mednet("cam --run " + run + " --target 3 --samples 2 --out " + home_ + "/t3" + common, home_);
  ASSERT_EQ(rc, 0) << text;
  const auto t3 = nlohmann::json::parse(read_file(home_ + "/t3/cam.json"));
  for (const auto& sample : t3["samples"]) EXPECT_EQ(sample["target"], 3);
  std::tie(rc, text) = mednet("cam --run " + home_ + "/nothing --out " + home_ + "/x" + common, home_);
  EXPECT_EQ(rc, 2) << text;
  EXPECT_TRUE(contains(text, "not a run directory")) << text;
}

}  // namespace

namespace {

TEST_F(Cli, WeightsFetchChecksTheDigestAndCaches) {
  // A tiny safetensors file served on loopback with its SHA-256 in X-Linked-Etag, as Hugging Face does.
  const std::string src_dir = temp_dir("wsrc");
  write_safetensors(src_dir + "/w.safetensors",
                    {{"features.0.weight", torch::ones({2, 3})}, {"x", torch::zeros({4})}});
  const std::string body = read_file(src_dir + "/w.safetensors");
  const std::string sha = mednet::data::sha256_file(src_dir + "/w.safetensors");
  const std::string cached = home_ + "/.cache/mednet/weights/vgg16.tv_in1k.safetensors";
  {
    LoopbackHttpServer server(body, LoopbackHttpServer::Mode::Serve, "X-Linked-Etag: \"" + sha + "\"\r\n");
    auto [rc, text] = mednet("weights fetch vgg16 --url " + server.url("/model.safetensors"), home_);
    ASSERT_EQ(rc, 0) << text;
    EXPECT_TRUE(contains(text, "SHA-256 " + sha + " verified, 2 tensors")) << text;
  }
  EXPECT_EQ(read_file(cached), body);
  auto [rc, text] = mednet("weights list", home_);
  EXPECT_EQ(rc, 0) << text;
  EXPECT_TRUE(contains(text, "cached: " + cached)) << text;

  // A wrong pinned digest, or a file that is not weights, leaves nothing in a fresh cache.
  const std::string other = temp_dir("home2");
  {
    LoopbackHttpServer server(body, LoopbackHttpServer::Mode::Serve);
    std::tie(rc, text) =
        mednet("weights fetch vgg16 --sha256 " + std::string(64, '0') + " --url " + server.url(), other);
    EXPECT_EQ(rc, 1) << text;
    EXPECT_TRUE(contains(text, "does not match")) << text;
  }
  {
    const std::string junk = "this is not a weights file at all";
    std::ofstream(src_dir + "/junk") << junk;
    LoopbackHttpServer server(junk, LoopbackHttpServer::Mode::Serve);
    std::tie(rc, text) = mednet("weights fetch vgg16 --sha256 " +
                                    mednet::data::sha256_file(src_dir + "/junk") + " --url " + server.url(),
                                other);
    EXPECT_EQ(rc, 1) << text;
  }
  {
    LoopbackHttpServer server(body, LoopbackHttpServer::Mode::CutOff);
    std::tie(rc, text) = mednet("weights fetch vgg16 --url " + server.url(), other);
    EXPECT_EQ(rc, 1) << text;
  }
  EXPECT_FALSE(fs::exists(other + "/.cache/mednet/weights/vgg16.tv_in1k.safetensors"));
  EXPECT_FALSE(fs::exists(other + "/.cache/mednet/weights/vgg16.tv_in1k.safetensors.part"));
  std::tie(rc, text) = mednet("weights fetch vgg19", other);
  EXPECT_EQ(rc, 2) << text;
  EXPECT_TRUE(contains(text, "known: vgg16")) << text;
}

TEST_F(Cli, TransferExperimentWithoutWeightsSaysRandomInit) {
  // Experiment 2B's own file on a generated RetinaMNIST, 2 epochs, one seed, no ImageNet file.
  const std::string root = temp_dir("retina");
  write_fake_medmnist(root + "/retinamnist.npz", "retinamnist", 40, 20, 20);
  const std::string out = home_ + "/exp2b";
  auto [rc, text] = mednet("experiment --config " + std::string(MEDNET_SOURCE_DIR) +
                               "/experiments/exp2b_vgg16_retina.json --out " + out + " --root " + root +
                               " --skip-md5 --seeds 0 --epochs 2",
                           home_);
  ASSERT_EQ(rc, 0) << text;
  EXPECT_TRUE(contains(text, "NO PRETRAINED WEIGHTS")) << text;
  EXPECT_TRUE(contains(text, "features of 60 images cached")) << text;
  const auto frozen = nlohmann::json::parse(read_file(out + "/frozen/seed0/metrics.json"));
  EXPECT_EQ(frozen["backbone"], "random-init");
  EXPECT_EQ(frozen["feature_cache"], true);
  EXPECT_EQ(frozen["trainable_params"], 512 * 256 + 256 + 256 * 5 + 5);
  const auto partial = nlohmann::json::parse(read_file(out + "/partial/seed0/metrics.json"));
  EXPECT_EQ(partial["feature_cache"], false);
  const auto config = nlohmann::json::parse(read_file(out + "/partial/seed0/config.json"));
  EXPECT_EQ(config["transfer"]["freeze"], 3);
  EXPECT_EQ(config["model"]["imagenet_norm"], true);
  const std::string md = read_file(out + "/summary.md");
  EXPECT_TRUE(contains(md, "| VGG16, frozen backbone | random-init | 132613 |")) << md;
  EXPECT_TRUE(contains(md, "epochs to 95%")) << md;
  const auto summary = nlohmann::json::parse(read_file(out + "/summary.json"));
  EXPECT_TRUE(summary["arms"][1]["epochs_to_95pct_best_val_auc_mean"].is_number()) << summary.dump();
}

TEST_F(Cli, QuantizeDynamicStaticQatEvalAndTheExperimentFile) {
  const std::string root = temp_dir("quantroot");
  write_fake_medmnist(root + "/retinamnist.npz", "retinamnist", 120, 40, 40);
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

  std::tie(rc, text) =
      mednet("quantize --run " + run + " --mode static --calib 0 --out " + home_ + "/x" + common, home_);
  EXPECT_EQ(rc, 2) << text;
  EXPECT_TRUE(contains(text, "calibration needs at least 1 training sample")) << text;
  std::tie(rc, text) = mednet("quantize --run " + run + " --mode int4 --out " + home_ + "/x" + common, home_);
  EXPECT_EQ(rc, 2) << text;
  EXPECT_TRUE(contains(text, "valid: dynamic, static, qat")) << text;
  std::tie(rc, text) =
      mednet("quantize --run " + home_ + "/q_static --mode static --out " + home_ + "/x" + common, home_);
  EXPECT_EQ(rc, 2) << text;
  EXPECT_TRUE(contains(text, "already holds an int8 model")) << text;

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
  std::tie(rc, text) = mednet("quantize --config " + exp + " --out " + home_ + "/x" + common, home_);
  EXPECT_EQ(rc, 2) << text;
  EXPECT_TRUE(contains(text, "train it first (mednet train ...)")) << text;
}

}  // namespace
