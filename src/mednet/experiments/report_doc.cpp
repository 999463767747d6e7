#include "mednet/experiments/report_doc.h"

#include <algorithm>
#include <cmath>

namespace mednet::experiments {

using nlohmann::json;

namespace {
const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                          "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string md_cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}
}  // namespace

ReportDoc::ReportDoc(const std::string& title) : page_(title) {
  md_ = "# " + title + "\n";
  page_.heading(1, title);
}

void ReportDoc::heading(int level, const std::string& text, const std::string& id) {
  page_.heading(level, text, id);
  md_ += "\n" + std::string(static_cast<size_t>(level), '#') + " " + text + "\n";
}

void ReportDoc::text(const std::string& t) {
  page_.paragraph(t);
  md_ += "\n" + t + "\n";
}

void ReportDoc::table(const Table& t) {
  page_.table(t.header, t.rows, t.marked);
  md_ += "\n|";
  for (const auto& h : t.header) md_ += " " + md_cell(h) + " |";
  md_ += "\n|";
  for (size_t i = 0; i < t.header.size(); ++i) md_ += "---|";
  md_ += "\n";
  for (size_t r = 0; r < t.rows.size(); ++r) {
    md_ += "|";
    for (const auto& c : t.rows[r])
      md_ += " " + md_cell(r < t.marked.size() && t.marked[r] ? "⚠ " + c : c) + " |";
    md_ += "\n";
  }
}

void ReportDoc::open_details(const std::string& summary) {
  page_.open_details(summary);
  md_ += "\n<details><summary>" + report::html_escape(summary) + "</summary>\n";
}

void ReportDoc::close_details() {
  page_.close_details();
  md_ += "\n</details>\n";
}

void ReportDoc::gap(const std::string& t) {
  page_.gap(t);
  md_ += "\n> **gap:** " + t + "\n";
  gaps_.push_back(t);
}

void ReportDoc::conclusion(const std::string& t) {
  page_.raw("<p class=\"conclusion\">" + report::html_escape(t) + "</p>\n");
  md_ += "\n**Conclusion:** " + t + "\n";
}

void ReportDoc::conclusion(const std::string& t, const std::string& anchor, const std::string& link_text) {
  page_.raw("<p class=\"conclusion\">" + report::html_escape(t) + "<a href=\"#" +
            report::html_escape(anchor) + "\">" + report::html_escape(link_text) + "</a></p>\n");
  md_ += "\n**Conclusion:** " + t + " ([" + link_text + "](#" + anchor + "))\n";
}

void ReportDoc::chart(const json& config, const std::string& png, int height_px) {
  page_.chart(config, height_px);
  if (!png.empty())
    md_ += "\n![" + config["options"]["plugins"]["title"].value("text", "") + "](" + png + ")\n";
}

void ReportDoc::image(const std::string& path, const std::string& relative, const std::string& caption,
                      int width) {
  page_.image(path, caption, width);
  md_ += "\n![" + caption + "](" + relative + ")\n";
}

json forest_chart(const std::string& title, const std::string& x_label, const std::string& value_label,
                  const std::string& reference_label, const std::vector<ForestRow>& rows) {
  json labels = json::array(), points = json::array(), bars = json::array(), references = json::array();
  for (const auto& r : rows) {
    labels.push_back(r.label);
    points.push_back({{"x", r.value}, {"y", r.label}});
    if (std::isfinite(r.ci.lo) && std::isfinite(r.ci.hi)) {
      bars.push_back({{"x", r.ci.lo}, {"y", r.label}});
      bars.push_back({{"x", r.ci.hi}, {"y", r.label}});
      bars.push_back({{"x", nullptr}, {"y", nullptr}});  // a break between rows
    }
    if (std::isfinite(r.reference)) references.push_back({{"x", r.reference}, {"y", r.label}});
  }
  json datasets = json::array({{{"label", value_label},
                                {"data", points},
                                {"backgroundColor", kPalette[0]},
                                {"borderColor", kPalette[0]},
                                {"pointRadius", 5},
                                {"showLine", false}},
                               {{"label", "95% interval"},
                                {"data", bars},
                                {"borderColor", kPalette[0]},
                                {"backgroundColor", kPalette[0]},
                                {"pointRadius", 0},
                                {"borderWidth", 2},
                                {"showLine", true},
                                {"spanGaps", false}}});
  if (!references.empty())
    datasets.push_back({{"label", reference_label},
                        {"data", references},
                        {"backgroundColor", kPalette[1]},
                        {"borderColor", kPalette[1]},
                        {"pointStyle", "triangle"},
                        {"pointRadius", 7},
                        {"showLine", false}});
  return {
      {"type", "scatter"},
      {"data", {{"datasets", datasets}}},
      {"options",
       {{"plugins", {{"title", {{"display", true}, {"text", title}}}, {"legend", {{"position", "bottom"}}}}},
        {"scales",
         {{"y", {{"type", "category"}, {"labels", labels}, {"offset", true}}},
          {"x", {{"title", {{"display", true}, {"text", x_label}}}}}}}}}};
}

int forest_height(size_t n) {
  return static_cast<int>(std::max<size_t>(220, 60 + 26 * n));
}

json xy_dataset(const std::string& label, const std::vector<double>& x, const std::vector<double>& y,
                size_t colour, bool dashed) {
  json data = json::array();
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (std::isfinite(x[i]) && std::isfinite(y[i])) data.push_back({{"x", x[i]}, {"y", y[i]}});
  }
  const char* c = kPalette[colour % (sizeof kPalette / sizeof *kPalette)];
  json d{{"label", label},
         {"data", data},
         {"borderColor", c},
         {"backgroundColor", c},
         {"pointRadius", x.size() > 60 ? 0 : 2},
         {"borderWidth", 1.5},
         {"showLine", true}};
  if (dashed) d["borderDash"] = {5, 4};
  return d;
}

json line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                const json& datasets, bool log_y) {
  json y{{"title", {{"display", true}, {"text", y_label}}}};
  if (log_y) y["type"] = "logarithmic";
  return {
      {"type", "scatter"},
      {"data", {{"datasets", datasets}}},
      {"options",
       {{"parsing", false},
        {"plugins", {{"title", {{"display", true}, {"text", title}}}, {"legend", {{"position", "bottom"}}}}},
        {"scales",
         {{"x", {{"type", "linear"}, {"title", {{"display", true}, {"text", x_label}}}}}, {"y", y}}}}}};
}

json scatter_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                   const json& datasets) {
  json c = line_chart(title, x_label, y_label, datasets);
  for (auto& d : c["data"]["datasets"]) {
    d["showLine"] = false;
    d["pointRadius"] = 5;
  }
  return c;
}

}  // namespace mednet::experiments
