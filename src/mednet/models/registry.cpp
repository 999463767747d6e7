#include "mednet/models/registry.h"

#include "mednet/core/error.h"
#include "mednet/models/cnn.h"

namespace mednet::models {

std::vector<std::string> model_names() {
  return {"cnn"};
}

Classifier make_model(const ModelSpec& spec, const data::DatasetInfo& info, int size) {
  if (spec.name == "cnn") {
    return Cnn(CnnOptions(info.num_outputs())
                   .in_channels(info.channels)
                   .spatial_dims(info.spatial_dims())
                   .input_size(size)
                   .widths(spec.widths)
                   .convs_per_stage(spec.convs_per_stage)
                   .hidden(spec.hidden)
                   .dropout(spec.dropout)
                   .global_pool(spec.global_pool))
        .ptr();
  }
  std::string valid;
  for (const auto& n : model_names()) valid += (valid.empty() ? "" : ", ") + n;
  MN_CHECK_USAGE(false, "unknown model '", spec.name, "'; valid models: ", valid);
  return nullptr;
}

}  // namespace mednet::models
