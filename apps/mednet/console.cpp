#include "console.h"

#include <cmath>
#include <cstdio>
#include <iostream>

#include "mednet/core/strings.h"

namespace mednet::app {

ConsoleObserver::ConsoleObserver() : tty_(core::is_terminal(2)) {}

void ConsoleObserver::on_epoch_begin(int epoch, int epochs, int64_t steps) {
  epochs_ = epochs;
  bar_ = std::make_unique<core::ProgressBar>(
      std::cerr, "epoch " + std::to_string(epoch) + "/" + std::to_string(epochs), steps, tty_);
}

void ConsoleObserver::on_step(int64_t, double running_loss) {
  // On a GPU the running loss is not read during the epoch (NaN here): the bar shows steps only.
  if (bar_)
    bar_->step(1, std::isnan(running_loss) ? std::string() : "loss " + core::format_fixed(running_loss));
}

void ConsoleObserver::on_epoch_end(const run::EpochRecord& r, bool improved) {
  if (bar_) bar_->finish();
  char line[256];
  std::snprintf(line, sizeof line, "epoch %3d/%d  lr %.1e  train loss %s %s | val loss %s %s  %.1fs%s",
                r.epoch, epochs_, r.lr, core::format_fixed(r.train_loss).c_str(),
                core::format_scores(r.train_auc, r.train_acc).c_str(), core::format_fixed(r.val_loss).c_str(),
                core::format_scores(r.val_auc, r.val_acc).c_str(), r.seconds, improved ? "  * best" : "");
  std::cout << line << std::endl;
}

void ConsoleObserver::on_message(const std::string& text) {
  if (bar_) bar_->finish();
  std::cout << text << std::endl;
}

std::function<void(uint64_t, uint64_t)> DownloadBar::progress_fn() {
  return [this](uint64_t now, uint64_t total) {
    if (total == 0) return;
    if (!bar_)
      bar_ = std::make_unique<core::ProgressBar>(std::cerr, "fetch", static_cast<int64_t>(total),
                                                 core::is_terminal(2));
    if (now > last_) bar_->step(static_cast<int64_t>(now - last_));
    last_ = now;
  };
}

void DownloadBar::finish() {
  if (bar_) bar_->finish();
}

}  // namespace mednet::app
