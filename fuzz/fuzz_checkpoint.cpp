// A run's checkpoints (best.pt, last.pt, last_optimizer.pt), safetensors files or the LibTorch archives
// of earlier runs, loaded into the model and
// the Adam optimizer that make_seeds wrote them from, with every name, shape and step checked.
#include <torch/optim/adam.h>

#include "fuzz_support.h"
#include "mednet/data/catalog.h"
#include "mednet/models/registry.h"
#include "mednet/run/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static mednet::models::Classifier model = [] {
    mednet::models::ModelSpec spec;
    spec.widths = {4};
    spec.hidden = {8};
    return mednet::models::make_model(
        spec, mednet::data::input_shape(mednet::data::find_dataset("retinamnist"), 28));
  }();
  static torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-3));
  const std::string path = mednet::fuzz::as_file(data, size, ".pt");
  mednet::fuzz::refuse_cleanly([&] { mednet::run::load_module(*model, path, c10::kCPU); });
  return mednet::fuzz::refuse_cleanly([&] { mednet::run::load_optimizer(adam, path); });
}
