#pragma once
// Line charts to PNG through cairo (optional at build time: without it plots_available() is false
// and save_png() is an error the caller can report).
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace mednet::report {

struct Series {
  std::string name;          ///< legend entry; empty: none (for example further seeds of a named series)
  std::vector<double> x, y;  ///< NaN values leave a gap
  uint32_t rgb = 0x1f77b4;
  bool dashed = false;
  bool line = true;                 ///< false: points only (a scatter)
  bool markers = false;             ///< a dot at every point
  std::vector<std::string> labels;  ///< text beside each point (optional)
};

/// A plain line series (no markers or point labels).
inline Series line_series(std::string name, std::vector<double> x, std::vector<double> y, uint32_t rgb,
                          bool dashed) {
  Series s;
  s.name = std::move(name);
  s.x = std::move(x);
  s.y = std::move(y);
  s.rgb = rgb;
  s.dashed = dashed;
  return s;
}

struct Panel {
  std::string title, xlabel, ylabel;
  std::vector<Series> series;
  double marker_x =
      std::numeric_limits<double>::quiet_NaN();  ///< a vertical line (for example the best epoch)
  std::string marker_label;
};

bool plots_available();

/// Draws the panels side by side under a title and writes a PNG.
void save_png(const std::vector<Panel>& panels, const std::string& title, const std::string& path,
              int panel_width = 560, int height = 420);

}  // namespace mednet::report
