#pragma once
// One POST /v1/models/NAME/predict between the HTTP thread that read it and the worker that scores it:
// the upload as read and conformed, what was asked for (a map, the conformed image), and the answer,
// which the worker fills and the HTTP thread waits for (up to the time limit; a job given up is skipped).
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mednet/data/user_input.h"
#include "mednet/serve/served_model.h"

namespace mednet::serve {

struct PredictJob {
  ServedModel* model = nullptr;
  std::string shown;  ///< the upload's name as the client gave it (cleaned)
  data::InputFile input;
  data::Conformed conformed;
  std::string map;          ///< "" or a method of explain::cam_methods()
  bool with_image = false;  ///< answer the conformed input too (the page draws it)

  int status = 0;
  nlohmann::json answer;

  /// Sets the answer and wakes the waiting thread.
  void finish(int http_status, nlohmann::json body);
  /// Waits for finish() up to limit; false (and the job marked given up) when it did not come.
  bool wait(std::chrono::milliseconds limit);
  bool given_up() const { return given_up_.load(); }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::atomic<bool> given_up_{false};
};

using JobPtr = std::shared_ptr<PredictJob>;

/// {"error": message}
nlohmann::json error_body(const std::string& message);

/// Jobs of one model in one forward pass; each gets its answer (200), or 500 with the reason.
void run_jobs(std::vector<JobPtr>& jobs);

}  // namespace mednet::serve
