#pragma once
// One document written twice: as the self-contained HTML page and as Markdown. Tables, text, gaps and
// conclusions go to both; charts only to the page (the Markdown names the PNG beside it, if any).
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mednet/metrics/bootstrap.h"
#include "mednet/report/html_page.h"

namespace mednet::experiments {

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> marked;  ///< rows that are gaps
  void add(std::vector<std::string> row, bool gap = false) {
    rows.push_back(std::move(row));
    marked.push_back(gap);
  }
};

class ReportDoc {
 public:
  explicit ReportDoc(const std::string& title);
  void heading(int level, const std::string& text, const std::string& id = "");
  void text(const std::string& t);
  void table(const Table& t);
  void gap(const std::string& t);
  void conclusion(const std::string& t);
  /// A conclusion that links to the section (its anchor) whose numbers it is written from.
  void conclusion(const std::string& t, const std::string& anchor, const std::string& link_text);
  /// A chart in the page; in the Markdown, a pointer to png (relative to the report) when given.
  void chart(const nlohmann::json& config, const std::string& png = "", int height_px = 280);
  /// An image embedded in the page (path) and linked from the Markdown (relative path).
  void image(const std::string& path, const std::string& relative, const std::string& caption,
             int width = 900);
  /// What follows until close_details() is collapsed behind one summary line in the page (long tables;
  /// never charts, which a closed element would not draw); in the Markdown, a <details> block.
  void open_details(const std::string& summary);
  void close_details();
  void open_grid() { page_.open_grid(); }
  void close_grid() { page_.close_grid(); }
  const std::vector<std::string>& gaps() const { return gaps_; }
  std::string html() const { return page_.render(); }
  std::string markdown() const { return md_; }

 private:
  report::HtmlPage page_;
  std::string md_;
  std::vector<std::string> gaps_;
};

/// Chart.js configurations for the report's chart kinds.
nlohmann::json line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                          const nlohmann::json& datasets, bool log_y = false);
nlohmann::json scatter_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                             const nlohmann::json& datasets);
/// One row of a forest plot: a value with its interval and, where there is one, a reference value.
struct ForestRow {
  std::string label;
  double value = 0;
  metrics::Interval ci;    ///< NaN ends: no bar
  double reference = NAN;  ///< NaN: none
};
/// A forest plot: one row per entry (a point, its interval as a bar), references drawn as triangles.
nlohmann::json forest_chart(const std::string& title, const std::string& x_label,
                            const std::string& value_label, const std::string& reference_label,
                            const std::vector<ForestRow>& rows);
/// The height in pixels a forest plot of n rows needs.
int forest_height(size_t n);
/// {"label", "data": [{x, y}...], colour i} for a line or scatter chart.
nlohmann::json xy_dataset(const std::string& label, const std::vector<double>& x,
                          const std::vector<double>& y, size_t colour, bool dashed = false);

}  // namespace mednet::experiments
