// Writes each harness's seed corpus into DIR/<harness>/: small valid files of its kind, made by
// mednet's own writers (and the experiment files of the repository), so no binary seed is committed.
//   make_seeds DIR REPOSITORY
#include <filesystem>
#include <fstream>
#include <iostream>

#include <torch/torch.h>

#include "mednet/data/catalog.h"
#include "mednet/data/dataset.h"
#include "mednet/data/npy.h"
#include "mednet/models/registry.h"
#include "mednet/models/safetensors.h"
#include "mednet/quant/int8_file.h"
#include "mednet/quant/int8_net.h"
#include "mednet/quant/layers.h"
#include "mednet/run/checkpoint.h"
#include "mednet/run/config.h"
#include "mednet/run/state.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;
using namespace mednet;

namespace {
void put(const std::string& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir + "/" + name, std::ios::binary) << bytes;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: make_seeds DIR REPOSITORY\n";
    return 2;
  }
  const std::string out = argv[1], repo = argv[2];
  torch::manual_seed(0);
  const at::Tensor images = torch::randint(0, 255, {2, 4, 4, 3}).to(torch::kByte);
  const at::Tensor labels = torch::tensor({{1}, {0}}, torch::kLong);
  put(out + "/npy", "uint8.npy", data::npy_bytes(images));
  put(out + "/npy", "int64.npy", data::npy_bytes(labels));
  put(out + "/npy", "float.npy", data::npy_bytes(torch::rand({3, 2})));
  const std::vector<std::pair<std::string, at::Tensor>> arrays{{"train_images", images},
                                                               {"train_labels", labels}};
  fs::create_directories(out + "/npz");
  testing::write_npz(out + "/npz/deflate.npz", arrays, testing::ZipMethod::Deflate);
  testing::write_npz(out + "/npz/stored.npz", arrays, testing::ZipMethod::Stored);

  fs::create_directories(out + "/safetensors");
  models::write_safetensors(out + "/safetensors/f32.safetensors",
                            {{"w", torch::rand({2, 3})}, {"b", torch::rand({2})}}, {{"note", "seed"}});
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  dict.insert("features.0.weight", torch::rand({2, 2}));
  dict.insert("features.0.bias", torch::rand({2}));
  const std::vector<char> pt = torch::pickle_save(c10::IValue(dict));
  put(out + "/torch_zip", "state_dict.pt", std::string(pt.begin(), pt.end()));
  data::NpzReader zip(out + "/torch_zip/state_dict.pt");
  for (const auto& e : zip.entries())
    if (e.name.size() > 8 && e.name.substr(e.name.size() - 8) == "data.pkl")
      put(out + "/pickle", "libtorch.pkl", zip.read_member(e));
  put(out + "/pickle", "python.pkl", testing::python_state_dict_pickle());

  models::ModelSpec spec;
  spec.widths = {4};
  spec.hidden = {8};
  models::Classifier m = models::make_model(spec, data::input_shape(data::find_dataset("retinamnist"), 28));
  m->eval();
  fs::create_directories(out + "/int8");
  const quant::Int8Net net(quant::fold_layers(quant::extract_layers(*m)), quant::Mode::Dynamic, nullptr);
  quant::write_int8_file(out + "/int8/dynamic.safetensors", net, {});
  fs::create_directories(out + "/checkpoint");
  run::save_module(*m, out + "/checkpoint/best.pt");
  torch::optim::Adam adam(m->parameters(), torch::optim::AdamOptions(1e-3));
  for (auto& p : m->parameters()) p.mutable_grad() = torch::ones_like(p);
  adam.step();
  run::save_optimizer(adam, out + "/checkpoint/last_optimizer.pt");
  // The LibTorch archives that runs of earlier versions hold.
  torch::serialize::OutputArchive module_archive, optimizer_archive;
  m->save(module_archive);
  module_archive.save_to(out + "/checkpoint/legacy_best.pt");
  adam.save(optimizer_archive);
  optimizer_archive.save_to(out + "/checkpoint/legacy_last_optimizer.pt");

  put(out + "/config", "default.json", run::to_json(run::TrainConfig()).dump(2));
  fs::create_directories(out + "/experiment");
  for (const auto& e : fs::directory_iterator(repo + "/experiments")) {
    if (e.path().extension() != ".json") continue;
    fs::copy_file(e.path(), out + "/experiment/" + e.path().filename().string(),
                  fs::copy_options::overwrite_existing);
  }
  run::RunState s;
  s.history.push_back(run::EpochRecord{1, 0.001, 0.69, 0.5, 0.4, 0.7, 0.55, 0.45, 1.5});
  s.history.push_back(run::EpochRecord{2, 0.001, 0.6, 0.6, 0.5, 0.65, 0.6, 0.5, 1.25});
  s.best_epoch = 2;
  s.checkpoints["last.pt"] = {1234, 567};
  put(out + "/state", "state.json", run::state_json(s));
  put(out + "/history", "history.csv", run::history_csv(s.history));
  std::cout << "seed corpora in " << out << "\n";
  return 0;
}
