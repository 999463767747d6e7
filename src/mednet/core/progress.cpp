#include "mednet/core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace mednet::core {

std::string format_duration(double s) {
  char buf[32];
  if (!std::isfinite(s) || s < 0) return "?";
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600, (static_cast<int>(s) % 3600) / 60);
  }
  return buf;
}

bool is_terminal(int fd) {
  return isatty(fd) == 1;
}

ProgressBar::ProgressBar(std::ostream& os, std::string label, int64_t total, bool interactive)
    : os_(os),
      label_(std::move(label)),
      total_(std::max<int64_t>(total, 1)),
      interactive_(interactive),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

double ProgressBar::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::step(int64_t n, const std::string& suffix) {
  done_ = std::min(total_, done_ + n);
  if (!interactive_) return;
  auto now = std::chrono::steady_clock::now();
  if (done_ < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(suffix);
}

void ProgressBar::draw(const std::string& suffix) {
  constexpr int kWidth = 28;
  const double frac = static_cast<double>(done_) / static_cast<double>(total_);
  const int filled = static_cast<int>(frac * kWidth);
  const double elapsed = elapsed_seconds();
  const double eta =
      done_ > 0 ? elapsed * static_cast<double>(total_ - done_) / static_cast<double>(done_) : NAN;
  std::string bar(static_cast<size_t>(filled), '#');
  bar.resize(kWidth, '.');
  char head[64];
  std::snprintf(head, sizeof head, " %3d%% %lld/%lld ", static_cast<int>(frac * 100),
                static_cast<long long>(done_), static_cast<long long>(total_));
  os_ << "\r\033[K" << label_ << " [" << bar << "]" << head << format_duration(elapsed) << " < "
      << format_duration(eta) << (suffix.empty() ? "" : "  ") << suffix << std::flush;
}

void ProgressBar::finish() {
  if (interactive_) os_ << "\r\033[K" << std::flush;
}

}  // namespace mednet::core
