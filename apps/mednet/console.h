#pragma once
// Console output of a training run: a progress bar with ETA on a terminal, one line per epoch always.
#include <cstdint>
#include <functional>
#include <memory>

#include "mednet/core/progress.h"
#include "mednet/train/trainer.h"

namespace mednet::app {

class ConsoleObserver : public train::TrainObserver {
 public:
  ConsoleObserver();
  void on_epoch_begin(int epoch, int epochs, int64_t steps) override;
  void on_step(int64_t step, double running_loss) override;
  void on_epoch_end(const run::EpochRecord& r, bool improved) override;
  void on_message(const std::string& text) override;

 private:
  bool tty_;
  int epochs_ = 0;
  std::unique_ptr<core::ProgressBar> bar_;
};

/// The progress bar of a download on stderr: drawn once the size is known, stepped by bytes received.
/// Pass progress_fn() as the download's callback, then call finish().
class DownloadBar {
 public:
  std::function<void(uint64_t, uint64_t)> progress_fn();
  void finish();

 private:
  std::unique_ptr<core::ProgressBar> bar_;
  uint64_t last_ = 0;
};

}  // namespace mednet::app
