#include "mednet/trust/ood_file.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "mednet/core/error.h"
#include "mednet/core/json.h"
#include "mednet/models/safetensors.h"

namespace mednet::trust {

using nlohmann::json;

void write_ood_file(const std::string& path, const OodDetector& d) {
  json thresholds = json::object();
  for (const auto& [name, t] : d.thresholds) thresholds[name] = t;
  models::write_safetensors(path,
                            {{"means", d.fit.means.to(at::kCPU).to(at::kDouble).contiguous()},
                             {"precision", d.fit.precision.to(at::kCPU).to(at::kDouble).contiguous()}},
                            {{"thresholds", thresholds.dump()},
                             {"pass_rate", json(d.pass_rate).dump()},
                             {"fitted_on", d.fitted_on},
                             {"fitted_size", std::to_string(d.fitted_size)}});
}

std::optional<OodDetector> read_ood_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  const models::TensorFile f = models::read_safetensors_file(path);
  const auto meta = [&](const char* key) {
    const auto it = f.metadata.find(key);
    MN_CHECK(it != f.metadata.end(), path, " is damaged: no \"", key, "\" in its metadata");
    return it->second;
  };
  const auto tensor = [&](const char* key) {
    const auto it =
        std::find_if(f.tensors.begin(), f.tensors.end(), [&](const auto& e) { return e.first == key; });
    MN_CHECK(it != f.tensors.end(), path, " is damaged: no tensor \"", key, "\"");
    return it->second.to(at::kDouble);
  };
  OodDetector d;
  d.fit.means = tensor("means");
  d.fit.precision = tensor("precision");
  MN_CHECK(d.fit.means.dim() == 2 && d.fit.means.size(0) >= 1 && d.fit.precision.dim() == 2 &&
               d.fit.precision.size(0) == d.fit.means.size(1) &&
               d.fit.precision.size(1) == d.fit.means.size(1),
           path, " is damaged: means ", d.fit.means.sizes(), " and precision ", d.fit.precision.sizes(),
           " do not fit together");
  const json thresholds = core::parse_json(meta("thresholds"), path + " thresholds", true);
  for (const char* name : kOodScores) {
    MN_CHECK(thresholds.is_object() && thresholds.contains(name) && thresholds[name].is_number() &&
                 std::isfinite(thresholds[name].get<double>()),
             path, " is damaged: no finite threshold for the ", name, " score");
    d.thresholds[name] = thresholds[name].get<double>();
  }
  const json rate = core::parse_json(meta("pass_rate"), path + " pass_rate", true);
  MN_CHECK(rate.is_number() && rate.get<double>() > 0 && rate.get<double>() <= 1, path,
           " is damaged: pass_rate must be in (0, 1], got ", rate.dump());
  d.pass_rate = rate.get<double>();
  d.fitted_on = meta("fitted_on");
  try {
    d.fitted_size = std::stoll(meta("fitted_size"));
  } catch (const std::exception&) {
    throw Error(path + " is damaged: fitted_size is not a number");
  }
  return d;
}

at::Tensor ood_passes(const OodDetector& d, const std::string& score, const at::Tensor& scores) {
  check_ood_score(score);
  return scores.ge(d.thresholds.at(score));
}

}  // namespace mednet::trust
