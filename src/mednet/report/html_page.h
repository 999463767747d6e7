#pragma once
// One self-contained HTML page: text, tables, embedded PNG images and interactive charts drawn by the
// vendored chart.js (third_party/chart.js, MIT, compiled into the binary and written into the page
// with its licence). The page loads nothing from the network or from beside it.
//
// After drawing, the page records what it drew on <body>: data-charts (charts created),
// data-charts-drawn (canvases with painted pixels), data-chart-points (the points of each chart's first
// data set, comma-separated in page order) and data-errors (script errors caught), which the browser
// test reads.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mednet::report {

std::string html_escape(const std::string& text);
std::string base64(const std::string& bytes);

class HtmlPage {
 public:
  explicit HtmlPage(std::string title);
  /// <h1>..<h3> with an anchor id (empty: a generated one for <h2>, none for the others). Every <h2> is
  /// an entry of the table of contents, which stays in view: a column beside the page on wide screens,
  /// a one-line bar at the top on narrower ones, left out in print.
  void heading(int level, const std::string& text, const std::string& id = "");
  void paragraph(const std::string& text, const std::string& css_class = "");
  /// A table of escaped cells; marked rows get the "gap" style (missing results).
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
             const std::vector<bool>& marked = {});
  /// Charts and images are figures, each with an anchor (figure-1, figure-2, ...) and a link to it.
  /// A chart.js chart from its configuration ({"type", "data", "options"}).
  void chart(const nlohmann::json& config, int height_px = 280);
  /// A PNG file embedded as a data URI; a missing file becomes a marked note.
  void image(const std::string& png_path, const std::string& caption, int max_width_px = 900);
  /// A marked note: something that should be here is not.
  void gap(const std::string& text);
  void raw(const std::string& html);
  void open_grid();  ///< side-by-side charts until close_grid()
  void close_grid();
  /// What follows until close_details() is collapsed behind one summary line (long tables).
  void open_details(const std::string& summary);
  void close_details();
  size_t chart_count() const { return charts_.size(); }
  size_t figure_count() const { return figures_; }
  std::string render() const;

 private:
  std::string title_;
  std::string body_;
  std::vector<nlohmann::json> charts_;
  std::vector<std::pair<std::string, std::string>> contents_;  ///< (id, text) of every <h2>
  size_t figures_ = 0;
  std::string figure_anchor();  ///< the next figure's id and its link, opening its element
};

}  // namespace mednet::report
