#pragma once
// A terminal progress bar with rate and ETA. On a terminal it redraws one line; elsewhere (a log
// file, CI) it stays silent until finish(), so logs get one line per task instead of thousands.
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace mednet::core {

/// Formats seconds as "12.3s", "4m05s" or "1h02m".
std::string format_duration(double seconds);

class ProgressBar {
 public:
  /// total: number of steps; interactive: redraw in place (pass is_terminal(stderr) from the app).
  ProgressBar(std::ostream& os, std::string label, int64_t total, bool interactive);
  /// Advances by n steps; suffix is shown after the bar (for example the running loss).
  void step(int64_t n = 1, const std::string& suffix = "");
  /// Clears the bar on a terminal; the caller prints the summary line.
  void finish();
  double elapsed_seconds() const;

 private:
  void draw(const std::string& suffix);

  std::ostream& os_;
  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  bool interactive_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

/// True when the file descriptor is a terminal.
bool is_terminal(int fd);

}  // namespace mednet::core
