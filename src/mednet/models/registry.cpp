#include "mednet/models/registry.h"

#include "mednet/core/error.h"
#include "mednet/core/strings.h"
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
  MN_CHECK_USAGE(false, "unknown model '", spec.name, "'; valid models: ", core::join(model_names(), ", "));
  return nullptr;
}

}  // namespace mednet::models
