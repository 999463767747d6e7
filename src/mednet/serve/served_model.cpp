#include "mednet/serve/served_model.h"

#include <cctype>
#include <filesystem>

#include "mednet/core/error.h"

namespace mednet::serve {

std::pair<std::string, std::string> parse_model_arg(const std::string& arg) {
  const size_t eq = arg.find('=');
  if (eq != std::string::npos) {
    const std::string name = arg.substr(0, eq), dir = arg.substr(eq + 1);
    MN_CHECK_USAGE(!name.empty() && !dir.empty(), "--run ", arg, ": give NAME=DIR or DIR");
    for (char c : name)
      MN_CHECK_USAGE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.',
                     "--run ", arg, ": a model name takes letters, digits, '-', '_' and '.'");
    return {name, dir};
  }
  std::string name = std::filesystem::path(arg).lexically_normal().filename().string();
  if (name.empty()) name = std::filesystem::path(arg).lexically_normal().parent_path().filename().string();
  std::string clean;
  for (char c : name)
    clean += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c : '-';
  return {clean.empty() ? "model" : clean, arg};
}

std::unique_ptr<ServedModel> load_served_model(const std::string& name, const std::string& dir,
                                               const c10::Device& device) {
  auto m = std::make_unique<ServedModel>(dir);
  m->name = name;
  m->device = device;
  run::OpenRunOptions o;
  o.load_data = false;
  o.device = device;
  m->run = run::open_run(dir, o);
  m->scoring = deploy::scoring_for(m->run, deploy::PredictOptions{});
  return m;
}

nlohmann::json describe_model(const ServedModel& m) {
  const data::DatasetInfo& info = *m.run.info;
  const data::InputShape shape = data::input_shape(info, m.run.config.size);
  nlohmann::json j;
  j["name"] = m.name;
  j["run"] = m.run.files.dir;
  j["model"] = m.run.config.model.name;
  j["dataset"] = info.flag;
  j["dataset_name"] = info.display_name;
  j["task"] = data::task_name(info.task);
  j["labels"] = info.labels;
  j["spatial_dims"] = info.spatial_dims();
  std::vector<int> in_shape{shape.channels};
  for (int d = 0; d < shape.spatial_dims; ++d) in_shape.push_back(shape.size);
  j["input_shape"] = in_shape;
  j["calibration"] = m.scoring.calibration.has_value();
  j["temperature"] =
      m.scoring.calibration ? nlohmann::json(m.scoring.calibration->temperature) : nlohmann::json();
  j["prediction_sets"] = m.scoring.calibration.has_value();
  j["set_coverage"] =
      m.scoring.calibration ? nlohmann::json(m.scoring.calibration->conformal.coverage) : nlohmann::json();
  j["ood"] = m.scoring.ood.has_value();
  j["ood_score"] = m.scoring.ood ? nlohmann::json(m.scoring.ood_score) : nlohmann::json();
  j["test_time_flips"] = !m.scoring.views.empty();
  return j;
}

}  // namespace mednet::serve
