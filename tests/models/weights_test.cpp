// Weight files: safetensors (written and read back), torch.save zip state dicts, load_weights' checks,
// and torchvision's VGG16 loaded to the same output.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/runtime.h"
#include "mednet/data/catalog.h"
#include "mednet/models/registry.h"
#include "mednet/models/vgg.h"
#include "mednet/models/weights.h"
#include "support/fixtures.h"

using namespace mednet::models;
namespace fs = std::filesystem;

namespace {

TEST(Weights, SafetensorsRoundTripInFloat32AndFloat16) {
  const std::string dir = mednet::testing::temp_dir("st");
  const at::Tensor a = torch::arange(6, torch::kFloat).view({2, 3}) / 4;
  const at::Tensor b = torch::tensor({1.5f, -2.0f});
  for (bool half : {false, true}) {
    const std::string path = dir + (half ? "/h.safetensors" : "/f.safetensors");
    mednet::testing::write_safetensors(path, {{"layer.weight", a}, {"layer.bias", b}}, half);
    const StateDict sd = read_state_dict(path);
    ASSERT_EQ(sd.size(), 2u);
    EXPECT_EQ(sd[0].first, "layer.weight");
    EXPECT_TRUE(torch::equal(sd[0].second, a));  // quarters are exact in float16 too
    EXPECT_TRUE(torch::equal(sd[1].second, b));
  }
}

TEST(Weights, TruncatedSafetensorsIsAClearError) {
  const std::string dir = mednet::testing::temp_dir("st");
  mednet::testing::write_safetensors(dir + "/w.safetensors", {{"w", torch::ones({100})}});
  const std::string full = mednet::testing::read_file(dir + "/w.safetensors");
  std::ofstream(dir + "/cut.safetensors", std::ios::binary) << full.substr(0, full.size() - 10);
  try {
    read_safetensors(dir + "/cut.safetensors");
    FAIL() << "no error";
  } catch (const mednet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  std::ofstream(dir + "/tiny.safetensors", std::ios::binary) << "abc";
  EXPECT_THROW(read_safetensors(dir + "/tiny.safetensors"), mednet::Error);
  EXPECT_THROW(read_state_dict(dir + "/missing.safetensors"), mednet::Error);
}

TEST(Weights, TorchZipStateDictIsRead) {
  const std::string dir = mednet::testing::temp_dir("pt");
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  dict.insert("features.0.weight", torch::full({2, 2}, 3.0));
  dict.insert("features.0.bias", torch::tensor({1.0, 2.0}).to(torch::kFloat));
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  std::ofstream(dir + "/w.pt", std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const StateDict sd = read_state_dict(dir + "/w.pt");
  ASSERT_EQ(sd.size(), 2u);
  EXPECT_EQ(sd[0].first, "features.0.weight");
  EXPECT_TRUE(torch::equal(sd[0].second, torch::full({2, 2}, 3.0f)));
  std::ofstream(dir + "/cut.pt", std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  EXPECT_THROW(read_state_dict(dir + "/cut.pt"), mednet::Error);
}

TEST(Weights, MismatchNamesTheKeyAndChangesNothing) {
  torch::manual_seed(0);
  Vgg net(VggOptions(2));
  StateDict sd = state_dict(*net);
  const at::Tensor before = net->named_parameters()["features.0.weight"].clone();
  for (auto& [name, t] : sd) t = torch::zeros_like(t);

  StateDict missing;
  for (const auto& e : sd)
    if (e.first != "features.26.bias") missing.push_back(e);
  try {
    load_weights(*net, missing, "head.", false, "file.safetensors");
    FAIL() << "no error";
  } catch (const mednet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'features.26.bias' is missing from file.safetensors"),
              std::string::npos)
        << e.what();
  }
  StateDict wrong = sd;
  for (auto& [name, t] : wrong)
    if (name == "features.7.weight") t = torch::zeros({128, 64, 5, 5});
  try {
    load_weights(*net, wrong, "head.", false, "file.safetensors");
    FAIL() << "no error";
  } catch (const mednet::Error& e) {
    EXPECT_NE(std::string(e.what()).find("'features.7.weight' has shape [128, 64, 5, 5]"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(torch::equal(net->named_parameters()["features.0.weight"], before));

  // A good file loads the backbone; the head stays as it was unless asked for.
  const at::Tensor head_before = net->named_parameters()["head.0.weight"].clone();
  sd.emplace_back("classifier.6.weight", torch::zeros({1000, 4096}));
  const LoadReport r = load_weights(*net, sd, "head.", false, "file.safetensors");
  EXPECT_EQ(r.loaded.size(), 26u);
  EXPECT_EQ(r.ignored, std::vector<std::string>{"classifier.6.weight"});
  EXPECT_EQ(net->named_parameters()["features.0.weight"].abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(torch::equal(net->named_parameters()["head.0.weight"], head_before));
}

// The loader against torchvision itself: a random torchvision VGG16 saved in both formats must give
// the same pooled backbone output in mednet.
TEST(Weights, TorchvisionVgg16LoadsToTheSameOutput) {
  const std::string dir = mednet::testing::temp_dir("tv");
  const std::string script = std::string(MEDNET_SOURCE_DIR) + "/tests/models/torchvision_vgg16_reference.py";
  const auto [probe, why] = mednet::testing::run_command("/usr/bin/python3 -c 'import torchvision' 2>&1");
  if (probe != 0) {
    GTEST_SKIP() << "SKIPPED: python3-torchvision is not installed (apt-get install python3-torchvision); "
                    "the loader is not checked against torchvision here";
  }
  const auto [rc, out] = mednet::testing::run_command("/usr/bin/python3 " + script + " " + dir + " 2>&1");
  ASSERT_EQ(rc, 0) << out;
  auto read_floats = [&](const std::string& name, std::vector<int64_t> shape) {
    const std::string bytes = mednet::testing::read_file(dir + "/" + name);
    at::Tensor t = torch::empty(shape, torch::kFloat);
    EXPECT_EQ(bytes.size(), static_cast<size_t>(t.numel()) * 4);
    std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
    return t;
  };
  const at::Tensor x = read_floats("input.f32", {2, 3, 32, 32});
  const at::Tensor expected = read_floats("pooled.f32", {2, 512});
  for (const char* file : {"vgg16.pt", "vgg16.safetensors"}) {
    Vgg net(VggOptions(7).input_size(32));
    net->eval();
    const LoadReport r = load_weights(*net, read_state_dict(dir + "/" + file), "head.", false, file);
    EXPECT_EQ(r.loaded.size(), 26u) << file;
    EXPECT_EQ(r.ignored.size(), 6u) << file;  // torchvision's classifier.{0,3,6}.{weight,bias}
    torch::NoGradGuard ng;
    const at::Tensor got = net->embed(x);
    const double rel = ((got - expected).abs().max() / expected.abs().max()).item<double>();
    std::printf("%s: max |mednet - torchvision| / max |torchvision| = %.3g\n", file, rel);
    EXPECT_LT(rel, 1e-4) << file;
  }
  fs::remove_all(dir);  // two 553 MB files
}

}  // namespace

namespace {
// A torch.save-style zip of one float tensor 'w' of 4 elements, written by hand: the pickle names
// `global_module.global_name` as the storage's class and the storage record holds record_floats floats.
std::string hand_made_pt(const std::string& dir, const std::string& name, const std::string& storage_global,
                         int record_floats, char tensor_elems = 4) {
  auto unicode = [](const std::string& s) {
    std::string out = "X";
    for (int k = 0; k < 4; ++k) out += static_cast<char>((s.size() >> (8 * k)) & 0xff);
    return out + s;
  };
  std::string pkl = "\x80\x02}(";
  pkl += unicode("w");
  pkl += "ctorch._utils\n_rebuild_tensor_v2\n(";
  pkl += "(" + unicode("storage") + "c" + storage_global + "\n" + unicode("0") + unicode("cpu") + "K\x04tQ";
  pkl += std::string("K\x00", 2) + "K" + tensor_elems + "\x85" + "K\x01\x85" + "\x89" +
         "ccollections\nOrderedDict\n)R";
  pkl += "tRu.";
  const std::string path = dir + "/" + name;
  mednet::testing::write_zip(path,
                             {{"archive/data.pkl", pkl},
                              {"archive/data/0", std::string(static_cast<size_t>(record_floats) * 4, '\0')},
                              {"archive/version", "3\n"}},
                             mednet::testing::ZipMethod::Stored);
  return path;
}
}  // namespace

TEST(Weights, TorchZipReadsOnlyStateDictGlobalsAndWholeStorageRecords) {
  const std::string dir = mednet::testing::temp_dir("pt_hostile");
  const StateDict ok = read_state_dict(hand_made_pt(dir, "ok.pt", "torch\nFloatStorage", 4));
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].second.sizes(), (std::vector<int64_t>{4}));
  auto error_of = [&](const std::string& path) {
    try {
      read_state_dict(path);
    } catch (const mednet::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string shortened = error_of(hand_made_pt(dir, "short.pt", "torch\nFloatStorage", 2));
  EXPECT_NE(shortened.find("short.pt: data.pkl declares storage '0' of 4 elements in a record of 8 bytes"),
            std::string::npos)
      << shortened;
  const std::string past = error_of(hand_made_pt(dir, "past.pt", "torch\nFloatStorage", 4, 5));
  EXPECT_NE(past.find("past.pt: data.pkl has a tensor that reads past the end of its storage record"),
            std::string::npos)
      << past;
  const std::string hostile = error_of(hand_made_pt(dir, "os.pt", "os\nsystem", 4));
  EXPECT_NE(hostile.find("data.pkl names os.system, which a state dict does not need"), std::string::npos)
      << hostile;
}

TEST(Weights, TorchZipFuzzFindingsAreRefusedCleanly) {
  // Inputs that once made the reader misbehave under make fuzz: a memo slot of a 302-byte pickle that made
  // LibTorch's unpickler allocate 31 GB, a read of a slot never stored and a damaged tensor layout, which
  // ended the process from inside it. Each is refused as damage.
  const std::string dir = std::string(MEDNET_SOURCE_DIR) + "/tests/models/fuzz_regressions/torch_zip";
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    ++n;
    try {
      read_state_dict(e.path().string());
      ADD_FAILURE() << e.path() << " was read";
    } catch (const mednet::Error& err) {
      const std::string what = err.what();
      EXPECT_EQ(what.rfind(e.path().string(), 0), 0u) << what;
      EXPECT_TRUE(what.find("damaged") != std::string::npos || what.find("truncated") != std::string::npos ||
                  what.find("CRC-32") != std::string::npos)
          << what;
    }
  }
  EXPECT_GT(n, 0);
}

TEST(Weights, ConvWeightsInChannelsLastGiveTheSameLogits) {
  torch::manual_seed(3);
  ModelSpec spec;
  spec.name = "cnn";
  auto model = make_model(spec, mednet::data::InputShape{1, 3, 28, 2});
  model->eval();
  torch::NoGradGuard g;
  const at::Tensor x = torch::randn({3, 1, 28, 28, 28});
  const at::Tensor before = model->forward(x.contiguous());
  to_conv_layout(*model);
  bool any_channels_last = false;
  for (const auto& p : model->parameters())
    any_channels_last |=
        p.dim() == 5 && p.is_contiguous(at::MemoryFormat::ChannelsLast3d) && !p.is_contiguous();
  EXPECT_TRUE(any_channels_last);
  const at::Tensor after = model->forward(mednet::core::conv_layout(x));
  EXPECT_TRUE(torch::allclose(before, after, 1e-4, 1e-5)) << (before - after).abs().max().item<float>();
}
