#include "mednet/report/html_page.h"

#include <filesystem>
#include <fstream>
#include <sstream>

extern const char* const mednet_chartjs_source;
extern const char* const mednet_chartjs_license;

namespace mednet::report {

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string base64(const std::string& bytes) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], k[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += {k[v >> 18], k[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += {k[v >> 18], k[(v >> 12) & 63], k[(v >> 6) & 63], '='};
  }
  return out;
}

HtmlPage::HtmlPage(std::string title) : title_(std::move(title)) {}

void HtmlPage::heading(int level, const std::string& text, const std::string& given_id) {
  std::string id = given_id;
  if (level == 2) {
    if (id.empty()) id = "section-" + std::to_string(contents_.size() + 1);
    contents_.push_back({id, text});
  }
  const std::string h = "h" + std::to_string(level);
  body_ += "<" + h + (id.empty() ? "" : " id=\"" + html_escape(id) + "\"") + ">" + html_escape(text) + "</" +
           h + ">\n";
}

std::string HtmlPage::figure_anchor() {
  const std::string id = "figure-" + std::to_string(++figures_);
  return " id=\"" + id + "\"><a class=\"figlink\" href=\"#" + id +
         "\" title=\"link to this figure\">figure " + std::to_string(figures_) + "</a>";
}

void HtmlPage::paragraph(const std::string& text, const std::string& css_class) {
  body_ +=
      "<p" + (css_class.empty() ? "" : " class=\"" + css_class + "\"") + ">" + html_escape(text) + "</p>\n";
}

void HtmlPage::table(const std::vector<std::string>& header,
                     const std::vector<std::vector<std::string>>& rows, const std::vector<bool>& marked) {
  body_ += "<table><thead><tr>";
  for (const auto& h : header) body_ += "<th>" + html_escape(h) + "</th>";
  body_ += "</tr></thead><tbody>\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    body_ += r < marked.size() && marked[r] ? "<tr class=\"gap\">" : "<tr>";
    for (const auto& c : rows[r]) body_ += "<td>" + html_escape(c) + "</td>";
    body_ += "</tr>\n";
  }
  body_ += "</tbody></table>\n";
}

void HtmlPage::chart(const nlohmann::json& config, int height_px) {
  const std::string id = "chart" + std::to_string(charts_.size());
  charts_.push_back({{"id", id}, {"config", config}});
  body_ += "<div class=\"figure\"" + figure_anchor() +
           "<div class=\"chart\" style=\"height:" + std::to_string(height_px) + "px\"><canvas id=\"" + id +
           "\"></canvas></div></div>\n";
}

void HtmlPage::image(const std::string& png_path, const std::string& caption, int max_width_px) {
  std::ifstream in(png_path, std::ios::binary);
  if (!in) {
    gap("missing image " + png_path);
    return;
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  body_ += "<figure" + figure_anchor() + "<img style=\"max-width:" + std::to_string(max_width_px) +
           "px\" alt=\"" + html_escape(caption) + "\" src=\"data:image/png;base64," + base64(bytes.str()) +
           "\"><figcaption>" + html_escape(caption) + "</figcaption></figure>\n";
}

void HtmlPage::gap(const std::string& text) {
  body_ += "<p class=\"gap\">" + html_escape(text) + "</p>\n";
}

void HtmlPage::raw(const std::string& html) {
  body_ += html;
}

void HtmlPage::open_grid() {
  body_ += "<div class=\"grid\">\n";
}

void HtmlPage::close_grid() {
  body_ += "</div>\n";
}

void HtmlPage::open_details(const std::string& summary) {
  body_ += "<details class=\"long\"><summary>" + html_escape(summary) + "</summary>\n";
}

void HtmlPage::close_details() {
  body_ += "</details>\n";
}

std::string HtmlPage::render() const {
  // "</" cannot appear inside a script element; JSON and the library are escaped or checked for it.
  std::string charts = nlohmann::json(charts_).dump();
  for (size_t p = charts.find("</"); p != std::string::npos; p = charts.find("</", p))
    charts.replace(p, 2, "<\\/");
  std::string page = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>)" + html_escape(title_) +
                     R"(</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1180px;padding:0 24px 48px;color:#1d2433;line-height:1.45}
h1{margin-top:28px}h2{margin-top:36px;border-bottom:2px solid #dde3ee;padding-bottom:4px}h3{margin-top:24px}
table{border-collapse:collapse;margin:10px 0 16px;font-size:14px}th,td{border:1px solid #d5dbe6;padding:4px 8px;text-align:left}
th{background:#f1f4f9}tr.gap td,p.gap{background:#fff3cd;color:#6b4e00}p.gap{padding:6px 10px;border-left:4px solid #e0a800}
p.conclusion{background:#eef6ee;border-left:4px solid #2ca02c;padding:6px 10px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:16px}
.chart{position:relative;width:100%}figure{margin:10px 0}figure img{width:100%;image-rendering:pixelated}
figcaption{font-size:13px;color:#566}nav a{margin-right:14px}code{background:#f1f4f9;padding:1px 4px}
details.licence{margin-top:40px;font-size:12px;color:#566}p.conclusion a{margin-left:6px}
details.long{margin:8px 0 14px}details.long>summary{cursor:pointer;color:#34507a}
.figure{position:relative}a.figlink{font-size:11px;color:#889;text-decoration:none;position:absolute;right:4px;top:-14px}
figure{position:relative}figure a.figlink{top:-4px}
nav.toc{position:sticky;top:0;z-index:5;background:#fff;border-bottom:1px solid #dde3ee;padding:6px 0;white-space:nowrap;overflow-x:auto;font-size:13px}
nav.toc a{margin-right:12px;color:#34507a;text-decoration:none}nav.toc strong{margin-right:12px}
@media (min-width:1640px){nav.toc{position:fixed;top:24px;left:16px;width:190px;white-space:normal;border:none;max-height:92vh;overflow-y:auto}
nav.toc a{display:block;margin:0 0 6px}nav.toc strong{display:block;margin-bottom:8px}}
@media print{body{max-width:none;padding:0;font-size:11pt}h2{break-before:page;border:none}#summary,h2:first-of-type{break-before:auto}
table,figure,.chart,p.conclusion{break-inside:avoid}details.licence,nav.toc,a.figlink{display:none}a{color:inherit;text-decoration:none}
p.conclusion a,p.gap{display:none}}
</style></head>
<body data-charts="0" data-charts-drawn="0" data-chart-points="" data-errors="">
<script>window.mnErrors=[];window.addEventListener("error",function(e){window.mnErrors.push(String(e.message));document.body.dataset.errors=window.mnErrors.join(" | ");});</script>
)";
  if (!contents_.empty()) {
    page += "<nav class=\"toc\" aria-label=\"contents\"><strong>Contents</strong>";
    for (const auto& [id, text] : contents_)
      page += "<a href=\"#" + html_escape(id) + "\">" + html_escape(text) + "</a>";
    page += "</nav>\n";
  }
  page += body_;
  page +=
      "<details class=\"licence\"><summary>chart.js licence (the chart library embedded in this "
      "page)</summary><pre>" +
      html_escape(mednet_chartjs_license) + "</pre></details>\n";
  page += "<script>\n";
  page += mednet_chartjs_source;
  page += "\n</script>\n<script>\nconst MN_CHARTS = " + charts + R"(;
(function () {
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  let made = 0;
  const points = [];
  for (const c of MN_CHARTS) {
    try {
      const chart = new Chart(document.getElementById(c.id), c.config);
      made++;
      points.push(chart.getDatasetMeta(0).data.filter(function (p) { return !p.skip; }).length);
    } catch (e) { window.mnErrors.push(c.id + ": " + e.message); points.push(-1); }
  }
  const readyMs = Math.round(performance.now());  // every chart drawn: the page is ready
  // Self-check for tests and readers: a chart counts as drawn when its canvas has painted pixels
  // (every 7th pixel is looked at).
  let drawn = 0;
  for (const c of MN_CHARTS) {
    const canvas = document.getElementById(c.id);
    const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    let painted = 0;
    for (let i = 3; i < px.length; i += 28) if (px[i] !== 0) painted++;
    if (painted > 20) drawn++;
  }
  document.body.dataset.charts = String(made);
  document.body.dataset.chartsDrawn = String(drawn);
  document.body.dataset.chartPoints = points.join(",");
  document.body.dataset.errors = window.mnErrors.join(" | ");
  document.body.dataset.readyMs = String(readyMs);
})();
</script>
</body></html>
)";
  return page;
}

}  // namespace mednet::report
