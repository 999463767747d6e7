#include "mednet/serve/predict_job.h"

#include <torch/torch.h>

#include "mednet/core/strings.h"
#include "mednet/data/dataset.h"
#include "mednet/data/image_file.h"
#include "mednet/deploy/cam_maps.h"
#include "mednet/report/html_page.h"

namespace mednet::serve {

void PredictJob::finish(int http_status, nlohmann::json body) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    status = http_status;
    answer = std::move(body);
    done_ = true;
  }
  done_cv_.notify_all();
}

bool PredictJob::wait(std::chrono::milliseconds limit) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (done_cv_.wait_for(lock, limit, [this] { return done_; })) return true;
  given_up_ = true;
  return false;
}

nlohmann::json error_body(const std::string& message) {
  return {{"error", core::printable_message(message)}};
}

namespace {

/// uint8 values and shape, base64: what the page draws on a canvas.
nlohmann::json raw_u8(const at::Tensor& t) {
  const at::Tensor c = t.contiguous();
  return {{"shape", c.sizes().vec()},
          {"values", report::base64(std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()),
                                                static_cast<size_t>(c.numel())))}};
}

nlohmann::json prediction_json(const PredictJob& job, const deploy::Prediction& p) {
  const ServedModel& m = *job.model;
  const data::DatasetInfo& info = *m.info;
  const deploy::Scoring& s = m.scoring;
  nlohmann::json a;
  a["model"] = m.name;
  a["kind"] = kind_name(m.kind);
  a["file"] = job.shown;
  a["class"] = p.predicted;
  a["label"] = info.labels.at(static_cast<size_t>(p.predicted));
  nlohmann::json probs = nlohmann::json::array();
  for (size_t c = 0; c < p.probs.size(); ++c)
    probs.push_back({{"label", info.labels.at(c)}, {"p", p.probs[c]}});
  a["probabilities"] = probs;
  a["calibrated"] = s.calibration.has_value();
  a["temperature"] = s.calibration ? nlohmann::json(s.calibration->temperature) : nlohmann::json();
  if (s.calibration) {
    std::vector<std::string> set;
    for (int64_t c : p.set) set.push_back(info.labels.at(static_cast<size_t>(c)));
    a["set"] = set;
    a["set_coverage"] = s.calibration->conformal.coverage;
  } else {
    a["set"] = nullptr;
    a["set_coverage"] = nullptr;
  }
  if (s.ood) {
    a["ood"] = {{"score", s.ood_score},
                {"value", p.ood_score},
                {"threshold", s.ood->thresholds.at(s.ood_score)},
                {"unlike", p.unlike}};
  } else {
    a["ood"] = nullptr;
  }
  a["conversion"] = data::conversion_lines(job.conformed, info, m.config.size);
  if (job.with_image) a["image"] = raw_u8(job.conformed.image);
  return a;
}

/// The map of the predicted class: the server's picture (PNG) and the values at the network's grid.
nlohmann::json map_json(PredictJob& job, int64_t predicted) {
  std::string layer;
  const at::Tensor map = class_map(*job.model, job.map, job.conformed.image.unsqueeze(0), predicted, &layer);
  std::vector<int64_t> peak;
  const at::Tensor picture = deploy::cam_picture(job.input.data, map, &peak);
  nlohmann::json j = raw_u8((map * 255).round().clamp(0, 255).to(at::kByte));
  j["method"] = job.map;
  j["layer"] = layer;
  if (job.model->nets.size() > 1) j["of"] = "the mean of the ensemble members' maps";
  j["zero"] = !(map.max().item<float>() > 0);
  j["png"] = report::base64(data::encode_png(picture));
  if (!peak.empty()) j["peak"] = peak;  // (x, y, z) on the input's grid
  return j;
}

}  // namespace

void run_jobs(std::vector<JobPtr>& jobs) {
  std::vector<JobPtr> live;
  for (auto& j : jobs)
    if (!j->given_up()) live.push_back(j);
  if (live.empty()) return;
  ServedModel& m = *live.front()->model;
  std::vector<deploy::Prediction> preds(live.size());
  try {
    std::vector<at::Tensor> images;
    for (const auto& j : live) images.push_back(j->conformed.image);
    const deploy::BatchScores scores = score_images(m, torch::stack(images));
    for (size_t k = 0; k < live.size(); ++k)
      deploy::fill_prediction(preds[k], scores, static_cast<int64_t>(k));
  } catch (const std::exception& e) {
    for (auto& j : live) j->finish(500, error_body(std::string("scoring failed: ") + e.what()));
    return;
  }
  for (size_t k = 0; k < live.size(); ++k) {
    PredictJob& job = *live[k];
    nlohmann::json a = prediction_json(job, preds[k]);
    a["batch"] = live.size();
    if (!job.map.empty() && !job.given_up()) {
      try {
        a["map"] = map_json(job, preds[k].predicted);
      } catch (const std::exception& e) {
        a["map"] = nullptr;
        a["map_error"] = core::printable_message(e.what());
      }
    }
    job.finish(200, std::move(a));
  }
}

}  // namespace mednet::serve
