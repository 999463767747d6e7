#pragma once
// One self-contained HTML page: text, tables, embedded PNG images and interactive charts drawn by the
// vendored chart.js (third_party/chart.js, MIT, compiled into the binary and written into the page
// with its licence). The page loads nothing from the network or from beside it.
//
// After drawing, the page records what it drew on <body>: data-charts (charts created),
// data-charts-drawn (canvases with painted pixels) and data-errors (script errors caught), which the
// browser test reads.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mednet::report {

std::string html_escape(const std::string& text);
std::string base64(const std::string& bytes);

class HtmlPage {
 public:
  explicit HtmlPage(std::string title);
  /// <h1>..<h3> with an anchor id (empty: none).
  void heading(int level, const std::string& text, const std::string& id = "");
  void paragraph(const std::string& text, const std::string& css_class = "");
  /// A table of escaped cells; marked rows get the "gap" style (missing results).
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
             const std::vector<bool>& marked = {});
  /// A chart.js chart from its configuration ({"type", "data", "options"}).
  void chart(const nlohmann::json& config, int height_px = 280);
  /// A PNG file embedded as a data URI; a missing file becomes a marked note.
  void image(const std::string& png_path, const std::string& caption, int max_width_px = 900);
  /// A marked note: something that should be here is not.
  void gap(const std::string& text);
  void raw(const std::string& html);
  void open_grid();  ///< side-by-side charts until close_grid()
  void close_grid();
  size_t chart_count() const { return charts_.size(); }
  std::string render() const;

 private:
  std::string title_;
  std::string body_;
  std::vector<nlohmann::json> charts_;
};

}  // namespace mednet::report
