#pragma once
// Console output of a training run: a progress bar with ETA on a terminal, one line per epoch always.
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

}  // namespace mednet::app
