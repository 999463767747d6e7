#include "mednet/serve/served_model.h"

#include <cctype>
#include <filesystem>

#include <torch/torch.h>

#include "mednet/core/error.h"
#include "mednet/core/json.h"
#include "mednet/core/strings.h"
#include "mednet/data/dataset.h"
#include "mednet/engine/evaluate.h"
#include "mednet/explain/methods.h"
#include "mednet/metrics/metrics.h"
#include "mednet/quant/int8_file.h"

namespace mednet::serve {

namespace fs = std::filesystem;

std::string kind_name(ServedKind kind) {
  switch (kind) {
    case ServedKind::Run:
      return "run";
    case ServedKind::Ensemble:
      return "ensemble";
    case ServedKind::Int8:
      return "int8";
  }
  return "run";
}

std::pair<std::string, std::string> parse_model_arg(const std::string& arg) {
  auto name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  };
  const size_t eq = arg.find('=');
  if (eq != std::string::npos) {
    const std::string name = arg.substr(0, eq), dir = arg.substr(eq + 1);
    MN_CHECK_USAGE(!name.empty() && !dir.empty(), "--run ", arg, ": give NAME=DIR or DIR");
    for (char c : name)
      MN_CHECK_USAGE(name_char(c), "--run ", arg, ": a model name takes letters, digits, '-', '_' and '.'");
    return {name, dir};
  }
  std::string name = fs::path(arg).lexically_normal().filename().string();
  if (name.empty()) name = fs::path(arg).lexically_normal().parent_path().filename().string();
  std::string clean;
  for (char c : name) clean += name_char(c) ? c : '-';
  return {clean.empty() ? "model" : clean, arg};
}

namespace {

ServedNet open_net(const std::string& dir, const c10::Device& device) {
  run::OpenRunOptions o;
  o.load_data = false;
  o.device = device;
  return ServedNet(trust::open_scoring_run(dir, o));
}

/// The folder's own calibration.json (mednet trust on an ensemble or an int8 folder), if any.
deploy::Scoring folder_scoring(const std::string& dir, const data::DatasetInfo& info) {
  deploy::Scoring s;
  s.calibration = trust::read_calibration_file(dir + "/calibration.json", info.task, info.num_outputs());
  return s;
}

void load_ensemble(ServedModel& m, const c10::Device& device) {
  run::OpenRunOptions o;
  o.load_data = false;
  o.device = device;
  for (trust::ScoringNet& n : trust::open_ensemble_members(m.dir, o)) m.nets.emplace_back(std::move(n));
  m.config = m.nets[0].run->config;
  m.info = m.nets[0].run->info;
  m.scoring = folder_scoring(m.dir, *m.info);
}

void load_int8(ServedModel& m) {
  run::OpenRunOptions o;
  o.load_data = false;
  o.load_model = false;
  const run::OpenRun r = run::open_run(m.dir, o);
  m.config = r.config;
  m.info = r.info;
  m.int8 = quant::read_int8_file(m.dir + "/model_int8.safetensors");
  if (fs::exists(m.dir + "/quant.json")) {
    const nlohmann::json q = core::read_json_file(m.dir + "/quant.json");
    for (const auto& [key, row] : q.items())
      if (row.is_object() && row.contains("source_run")) m.source_run = row["source_run"].get<std::string>();
  }
  m.scoring = folder_scoring(m.dir, *m.info);
}

}  // namespace

std::unique_ptr<ServedModel> load_served_model(const std::string& name, const std::string& dir,
                                               const c10::Device& device) {
  auto m = std::make_unique<ServedModel>();
  m->name = name;
  m->dir = dir;
  m->device = device;
  MN_CHECK_USAGE(fs::is_directory(dir), "--run ", dir, ": no such folder");
  if (fs::exists(dir + "/ensemble.json")) {
    m->kind = ServedKind::Ensemble;
    load_ensemble(*m, device);
  } else if (fs::exists(dir + "/model_int8.safetensors")) {
    m->kind = ServedKind::Int8;
    m->device = c10::kCPU;  // LibTorch's quantized operators run on the CPU
    load_int8(*m);
  } else {
    m->nets.push_back(open_net(dir, device));
    m->config = m->nets[0].run->config;
    m->info = m->nets[0].run->info;
    m->scoring = deploy::scoring_for(*m->nets[0].run, deploy::PredictOptions{});
  }
  return m;
}

deploy::BatchScores score_images(ServedModel& m, const at::Tensor& images_u8) {
  const data::Task task = m.info->task;
  if (m.kind == ServedKind::Run)
    return deploy::score_batch(*m.nets[0].run->model, *m.info, m.scoring, images_u8, m.device, 256);
  deploy::BatchScores b;
  if (m.kind == ServedKind::Int8) {
    torch::NoGradGuard no_grad;
    const at::Tensor x = data::to_network_input(images_u8);
    if (m.int8->mode() == quant::Mode::Dynamic) {
      // Dynamic range quantizes activations by the batch's own range: one input at a time, so that an
      // answer does not depend on the requests it happened to share a pass with.
      std::vector<at::Tensor> rows;
      for (int64_t i = 0; i < x.size(0); ++i) rows.push_back(m.int8->forward(x.narrow(0, i, 1)));
      b.probs = metrics::probabilities(task, torch::cat(rows));
    } else {
      b.probs = metrics::probabilities(task, m.int8->forward(x));
    }
  } else {
    b.probs = trust::mean_probabilities(m.nets, images_u8, m.device, 256);
  }
  engine::check_finite_probabilities(b.probs);
  b.probs = b.probs.to(at::kDouble).contiguous();
  deploy::calibrate_scores(task, m.scoring, b);
  return b;
}

std::string why_no_map(const ServedModel& m, const std::string& method) {
  if (m.kind != ServedKind::Int8) return "";
  return "map=" + method + ": " + m.name +
         " is an int8 model, which has no gradients to make a map from; serve " + "its float run" +
         (m.source_run.empty() ? std::string() : " (" + m.source_run + ")") + " for maps";
}

at::Tensor class_map(ServedModel& m, const std::string& method, const at::Tensor& image_u8, int64_t target,
                     std::string* layer) {
  const std::string refused = why_no_map(m, method);
  MN_CHECK(refused.empty(), refused);
  std::lock_guard<std::mutex> lock(m.map_mutex);
  at::Tensor sum;
  for (auto& n : m.nets) {
    auto& cam = n.maps[method];
    if (!cam) cam = explain::make_cam(method, *n.run->model, "");
    const at::Tensor x = data::to_network_input(image_u8).to(m.device);
    const explain::CamResult r = cam->compute(x, torch::tensor({target}, torch::kLong).to(m.device));
    const at::Tensor map = r.maps[0].to(at::kFloat).cpu();
    sum = sum.defined() ? sum + map : map;
    if (layer) *layer = cam->layer();
  }
  return sum / static_cast<double>(m.nets.size());
}

nlohmann::json describe_model(const ServedModel& m) {
  const data::DatasetInfo& info = *m.info;
  nlohmann::json j;
  j["name"] = m.name;
  j["kind"] = kind_name(m.kind);
  j["folder"] = m.dir;
  j["model"] = m.config.model.name;
  if (m.kind == ServedKind::Ensemble) {
    std::vector<std::string> members;
    for (const auto& n : m.nets) members.push_back(n.run->files.dir);
    j["members"] = members;
  }
  if (m.kind == ServedKind::Int8) j["int8_mode"] = quant::mode_name(m.int8->mode());
  j["dataset"] = info.flag;
  j["dataset_name"] = info.display_name;
  j["task"] = data::task_name(info.task);
  j["labels"] = info.labels;
  j["spatial_dims"] = info.spatial_dims();
  std::vector<int> in_shape{info.channels};
  for (int d = 0; d < info.spatial_dims(); ++d) in_shape.push_back(m.config.size);
  j["input_shape"] = in_shape;
  const auto& cal = m.scoring.calibration;
  j["calibration"] = cal.has_value();
  j["temperature"] = cal ? nlohmann::json(cal->temperature) : nlohmann::json();
  j["prediction_sets"] = cal.has_value();
  j["set_coverage"] = cal ? nlohmann::json(cal->conformal.coverage) : nlohmann::json();
  j["ood"] = m.scoring.ood.has_value();
  j["ood_score"] = m.scoring.ood ? nlohmann::json(m.scoring.ood_score) : nlohmann::json();
  j["maps"] = m.kind != ServedKind::Int8;
  return j;
}

std::string model_summary(const ServedModel& m) {
  std::string s =
      m.config.model.name + " on " + m.info->display_name + " " + std::to_string(m.config.size) + " px (" +
      (m.kind == ServedKind::Run        ? std::string("a trained run")
       : m.kind == ServedKind::Ensemble ? "an ensemble of " + std::to_string(m.nets.size()) + " runs"
                                        : "int8, " + quant::mode_name(m.int8->mode())) +
      ")";
  if (m.scoring.calibration) s += ", calibrated with prediction sets";
  if (m.scoring.ood) s += ", out-of-distribution check (" + m.scoring.ood_score + ")";
  if (m.kind == ServedKind::Int8) s += ", no maps";
  return s;
}

}  // namespace mednet::serve
