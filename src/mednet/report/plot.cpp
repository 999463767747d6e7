#include "mednet/report/plot.h"

#include "mednet/build_config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#if MEDNET_HAVE_CAIRO
#include <cairo.h>
#endif

#include "mednet/core/error.h"

namespace mednet::report {

bool plots_available() {
#if MEDNET_HAVE_CAIRO
  return true;
#else
  return false;
#endif
}

#if MEDNET_HAVE_CAIRO
namespace {

// "Nice" tick step for a range (Heckbert, Graphics Gems 1990).
double nice_step(double range, int target_ticks) {
  const double raw = range / std::max(1, target_ticks);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return nice * mag;
}

void set_rgb(cairo_t* cr, uint32_t rgb) {
  cairo_set_source_rgb(cr, ((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0, (rgb & 0xff) / 255.0);
}

void text(cairo_t* cr, double x, double y, const std::string& s, double size, double align_x = 0,
          bool bold = false) {
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t ext;
  cairo_text_extents(cr, s.c_str(), &ext);
  cairo_move_to(cr, x - align_x * ext.width, y);
  cairo_show_text(cr, s.c_str());
}

std::string fmt(double v, double step) {
  char buf[32];
  const int decimals = step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step)));
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

void draw_panel(cairo_t* cr, const Panel& p, double x0, double y0, double w, double h) {
  const double left = x0 + 62, right = x0 + w - 16, top = y0 + 34, bottom = y0 + h - 48;
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (const auto& s : p.series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  }
  if (!std::isfinite(xmin)) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  // A scatter keeps its points (and their labels) off the frame.
  const bool scatter = std::any_of(p.series.begin(), p.series.end(), [](const Series& s) { return !s.line; });
  if (scatter) {
    const double dx = std::max(xmax - xmin, 1e-3 * std::abs(xmax) + 1e-9), dy = std::max(ymax - ymin, 1e-3);
    xmin -= 0.08 * dx;
    xmax += 0.25 * dx;
    ymin -= 0.1 * dy;
    ymax += 0.1 * dy;
  }
  if (xmax == xmin) xmax = xmin + 1;
  if (ymax == ymin) ymax = ymin + 1;
  const double ystep = nice_step(ymax - ymin, 5);
  ymin = std::floor(ymin / ystep) * ystep;
  ymax = std::ceil(ymax / ystep) * ystep;
  const double xstep = scatter ? nice_step(xmax - xmin, 6) : std::max(1.0, nice_step(xmax - xmin, 6));
  auto px = [&](double x) { return left + (x - xmin) / (xmax - xmin) * (right - left); };
  auto py = [&](double y) { return bottom - (y - ymin) / (ymax - ymin) * (bottom - top); };

  cairo_set_line_width(cr, 1);
  for (double y = ymin; y <= ymax + 1e-9 * ystep; y += ystep) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, left, py(y));
    cairo_line_to(cr, right, py(y));
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text(cr, left - 6, py(y) + 4, fmt(y, ystep), 11, 1.0);
  }
  for (double x = std::ceil(xmin / xstep) * xstep; x <= xmax + 1e-9; x += xstep) {
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    text(cr, px(x), bottom + 16, fmt(x, xstep), 11, 0.5);
  }
  cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_stroke(cr);
  text(cr, (left + right) / 2, y0 + 20, p.title, 14, 0.5, true);
  text(cr, (left + right) / 2, bottom + 36, p.xlabel, 12, 0.5);
  cairo_save(cr);
  cairo_translate(cr, x0 + 16, (top + bottom) / 2);
  cairo_rotate(cr, -M_PI / 2);
  text(cr, 0, 0, p.ylabel, 12, 0.5);
  cairo_restore(cr);

  if (std::isfinite(p.marker_x)) {
    cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
    const double dash[] = {3, 3};
    cairo_set_dash(cr, dash, 2, 0);
    cairo_move_to(cr, px(p.marker_x), top);
    cairo_line_to(cr, px(p.marker_x), bottom);
    cairo_stroke(cr);
    cairo_set_dash(cr, nullptr, 0, 0);
    text(cr, px(p.marker_x) + 4, top + 14, p.marker_label, 11);
  }

  cairo_rectangle(cr, left, top, right - left, bottom - top);
  cairo_save(cr);
  cairo_clip(cr);
  cairo_set_line_width(cr, 2);
  for (const auto& s : p.series) {
    set_rgb(cr, s.rgb);
    const double dash[] = {6, 4};
    cairo_set_dash(cr, dash, s.dashed ? 2 : 0, 0);
    bool pen = false;
    for (size_t i = 0; s.line && i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) {
        pen = false;
        continue;
      }
      if (pen) {
        cairo_line_to(cr, px(s.x[i]), py(s.y[i]));
      } else {
        cairo_move_to(cr, px(s.x[i]), py(s.y[i]));
        pen = true;
      }
    }
    cairo_stroke(cr);
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.y[i])) continue;
      if (s.markers) {
        set_rgb(cr, s.rgb);
        cairo_arc(cr, px(s.x[i]), py(s.y[i]), 4.5, 0, 2 * M_PI);
        cairo_fill(cr);
      }
      if (i < s.labels.size() && !s.labels[i].empty()) {
        cairo_set_source_rgb(cr, 0.15, 0.15, 0.15);
        text(cr, px(s.x[i]) + 7, py(s.y[i]) - 6, s.labels[i], 10);
      }
    }
  }
  cairo_restore(cr);
  cairo_set_dash(cr, nullptr, 0, 0);

  // Legend, top right inside the frame, as wide as its longest name; unnamed series have no entry.
  double name_w = 0;
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 11);
  for (const auto& s : p.series) {
    cairo_text_extents_t ext;
    cairo_text_extents(cr, s.name.c_str(), &ext);
    name_w = std::max(name_w, ext.x_advance);
  }
  const double lx = right - name_w - 40;
  double ly = top + 16;
  for (const auto& s : p.series) {
    if (s.name.empty()) continue;
    set_rgb(cr, s.rgb);
    cairo_set_line_width(cr, 2);
    const double dash[] = {6, 4};
    cairo_set_dash(cr, dash, s.dashed ? 2 : 0, 0);
    if (s.line) {
      cairo_move_to(cr, lx, ly - 4);
      cairo_line_to(cr, lx + 26, ly - 4);
      cairo_stroke(cr);
    }
    if (s.markers) {
      cairo_arc(cr, lx + 13, ly - 4, 4.5, 0, 2 * M_PI);
      cairo_fill(cr);
    }
    cairo_set_dash(cr, nullptr, 0, 0);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    text(cr, lx + 32, ly, s.name, 11);
    ly += 16;
  }
}

}  // namespace
#endif

void save_png(const std::vector<Panel>& panels, const std::string& title, const std::string& path,
              int panel_width, int height) {
#if MEDNET_HAVE_CAIRO
  const int w = panel_width * static_cast<int>(std::max<size_t>(1, panels.size()));
  const int h = height + 30;
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);
  text(cr, w / 2.0, 22, title, 15, 0.5, true);
  for (size_t i = 0; i < panels.size(); ++i) {
    draw_panel(cr, panels[i], static_cast<double>(i) * panel_width, 30, panel_width, height);
  }
  cairo_destroy(cr);
  const cairo_status_t st = cairo_surface_write_to_png(surface, path.c_str());
  cairo_surface_destroy(surface);
  MN_CHECK(st == CAIRO_STATUS_SUCCESS, "cannot write ", path, ": ", cairo_status_to_string(st));
#else
  (void)panels, (void)title, (void)panel_width, (void)height;
  MN_CHECK(false, "this build has no plotting (built without cairo); ", path, " was not written");
#endif
}

}  // namespace mednet::report
