#include "mednet/deploy/architecture.h"

#include "mednet/core/error.h"
#include "mednet/models/cnn.h"
#include "mednet/models/ordinal_head.h"
#include "mednet/models/resnet.h"
#include "mednet/models/vgg.h"

namespace mednet::deploy {

nlohmann::json architecture(const models::ClassifierImpl& model) {
  nlohmann::json j;
  if (const auto* corn = dynamic_cast<const models::CornImpl*>(&model)) {
    // The network's own description with K - 1 outputs, then its CORN conversion to K classes.
    j = architecture(*corn->net());
    j["head"] = "corn";
    j["classes"] = j.at("classes").get<int64_t>() + 1;
    return j;
  }
  if (const auto* c = dynamic_cast<const models::CnnImpl*>(&model)) {
    const auto& o = c->options();
    j = {{"kind", "cnn"},
         {"spatial_dims", o.spatial_dims()},
         {"in_channels", o.in_channels()},
         {"classes", o.classes()},
         {"input_size", o.input_size()},
         {"widths", o.widths()},
         {"convs_per_stage", o.convs_per_stage()},
         {"hidden", o.hidden()},
         {"global_pool", o.global_pool()}};
  } else if (const auto* r = dynamic_cast<const models::ResNetImpl*>(&model)) {
    const auto& o = r->options();
    j = {{"kind", o.skip() ? "resnet" : "plain"},
         {"spatial_dims", o.spatial_dims()},
         {"in_channels", o.in_channels()},
         {"classes", o.classes()},
         {"block", o.block() == models::BlockKind::Basic ? "basic" : "bottleneck"},
         {"layers", o.layers()},
         {"widths", o.widths()},
         {"small_stem", o.small_stem()}};
  } else if (const auto* v = dynamic_cast<const models::VggImpl*>(&model)) {
    const auto& o = v->options();
    j = {{"kind", "vgg16"},
         {"spatial_dims", 2},
         {"in_channels", o.in_channels()},
         {"classes", o.classes()},
         {"input_size", o.input_size()},
         {"imagenet_norm", o.imagenet_norm()},
         {"hidden", o.hidden()}};
  } else {
    MN_CHECK(false, "export does not know the network '", model.kind(), "'");
  }
  return j;
}

std::string input_description(const data::DatasetInfo& info, int size) {
  const std::string s = std::to_string(size);
  const std::string shape =
      info.spatial_dims() == 3 ? "[N, " + std::to_string(info.channels) + ", " + s + ", " + s + ", " + s + "]"
                               : "[N, " + std::to_string(info.channels) + ", " + s + ", " + s + "]";
  return "float32 " + shape + ", each uint8 value v as (v / 255 - 0.5) / 0.5 (range -1 to 1), as " +
         info.display_name + " " + s + " px images are given to the network";
}

}  // namespace mednet::deploy
