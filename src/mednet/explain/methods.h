#pragma once
// The registry of explanation methods (a table as in timm): each row names a method, cites its paper in
// one line and makes it. `mednet cam --method` and `mednet predict --cam` take any name of it.
#include <memory>
#include <string>
#include <vector>

#include "mednet/explain/cam.h"

namespace mednet::explain {

struct CamMethod {
  const char* name;
  const char* paper;
  const char* family;  ///< "cam" (a feature map's channels), "gradient" or "perturbation" (of the input)
  std::unique_ptr<Attribution> (*make)(models::ClassifierImpl& model, const std::string& layer);
};
const std::vector<CamMethod>& cam_methods();
/// The registry's names, in order.
std::vector<std::string> cam_method_names();
/// "all" or a comma list of names; an unknown name is a usage error naming the valid ones.
std::vector<std::string> parse_cam_methods(const std::string& spec);
/// A row of the registry by name; anything else is a usage error naming the valid ones.
const CamMethod& find_cam_method(const std::string& name);

/// A method of the registry by name, with its options. layer: for the CAM methods (empty = the last
/// convolutional stage); the input attributions ignore it.
std::unique_ptr<Attribution> make_cam(const std::string& method, models::ClassifierImpl& model,
                                      const std::string& layer, const AttributionOptions& options = {});

}  // namespace mednet::explain
