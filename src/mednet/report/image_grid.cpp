#include "mednet/report/image_grid.h"

#include "mednet/build_config.h"

#include <algorithm>
#include <cstring>

#if MEDNET_HAVE_CAIRO
#include <cairo.h>
#endif

#include <torch/torch.h>

#include "mednet/core/error.h"

namespace mednet::report {

std::vector<at::Tensor> middle_slices(const at::Tensor& v) {
  MN_CHECK(v.dim() == 4, "middle_slices: expected [C, D, H, W], got ", v.dim(), " dimensions");
  return {v.select(1, v.size(1) / 2), v.select(2, v.size(2) / 2), v.select(3, v.size(3) / 2)};
}

void save_image_grid(const std::vector<Tile>& tiles, int cols, int scale, const std::string& title,
                     const std::string& path) {
  MN_CHECK(!tiles.empty(), "save_image_grid: no images");
  MN_CHECK(cols >= 1 && scale >= 1, "save_image_grid: cols and scale must be >= 1");
  int64_t tile_w = 0, tile_h = 0;
  for (const auto& t : tiles) {
    MN_CHECK(t.image.dim() == 3 && (t.image.size(0) == 1 || t.image.size(0) == 3),
             "save_image_grid: each image must be [1 or 3, H, W]");
    tile_h = std::max(tile_h, t.image.size(1) * scale);
    tile_w = std::max(tile_w, t.image.size(2) * scale);
  }
#if MEDNET_HAVE_CAIRO
  const int pad = 8, caption_h = 30, title_h = 34;
  const int rows =
      static_cast<int>((tiles.size() + static_cast<size_t>(cols) - 1) / static_cast<size_t>(cols));
  int w = cols * static_cast<int>(tile_w + pad) + pad;
  {  // wide enough for the title
    cairo_surface_t* scratch = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t* m = cairo_create(scratch);
    cairo_select_font_face(m, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(m, 15);
    cairo_text_extents_t e;
    cairo_text_extents(m, title.c_str(), &e);
    w = std::max(w, static_cast<int>(e.width) + 2 * pad);
    cairo_destroy(m);
    cairo_surface_destroy(scratch);
  }
  const int h = title_h + rows * static_cast<int>(tile_h + caption_h + pad) + pad;
  cairo_surface_t* surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
  cairo_t* cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, 15);
  cairo_text_extents_t ext;
  cairo_text_extents(cr, title.c_str(), &ext);
  cairo_set_source_rgb(cr, 0, 0, 0);
  cairo_move_to(cr, (w - ext.width) / 2, 22);
  cairo_show_text(cr, title.c_str());
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 11);

  for (size_t i = 0; i < tiles.size(); ++i) {
    const at::Tensor img = tiles[i].image.to(torch::kByte).contiguous();
    const int ih = static_cast<int>(img.size(1)), iw = static_cast<int>(img.size(2));
    cairo_surface_t* src = cairo_image_surface_create(CAIRO_FORMAT_RGB24, iw, ih);
    cairo_surface_flush(src);
    unsigned char* data = cairo_image_surface_get_data(src);
    const int stride = cairo_image_surface_get_stride(src);
    const uint8_t* p = img.data_ptr<uint8_t>();
    const int64_t plane = static_cast<int64_t>(ih) * iw;
    for (int y = 0; y < ih; ++y) {
      auto* row = reinterpret_cast<uint32_t*>(data + static_cast<ptrdiff_t>(y) * stride);
      for (int x = 0; x < iw; ++x) {
        const int64_t k = static_cast<int64_t>(y) * iw + x;
        const uint32_t r = p[k], g = img.size(0) == 3 ? p[plane + k] : r,
                       b = img.size(0) == 3 ? p[2 * plane + k] : r;
        row[x] = (r << 16) | (g << 8) | b;
      }
    }
    cairo_surface_mark_dirty(src);
    const int col = static_cast<int>(i) % cols, rw = static_cast<int>(i) / cols;
    const double x0 = pad + col * static_cast<double>(tile_w + pad);
    const double y0 = title_h + rw * static_cast<double>(tile_h + caption_h + pad);
    cairo_save(cr);
    cairo_translate(cr, x0, y0);
    cairo_scale(cr, scale, scale);
    cairo_set_source_surface(cr, src, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(src);
    // Caption: up to two lines split at " | ".
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    std::string cap = tiles[i].caption, second;
    const auto bar = cap.find(" | ");
    if (bar != std::string::npos) {
      second = cap.substr(bar + 3);
      cap = cap.substr(0, bar);
    }
    // A line wider than its tile is set smaller (down to 8 pt) rather than running into the next caption.
    auto show_fitted = [&](const std::string& text, double y) {
      cairo_text_extents_t te;
      cairo_text_extents(cr, text.c_str(), &te);
      const double room = static_cast<double>(tile_w) + pad - 2;
      const bool shrink = te.x_advance > room;
      if (shrink) cairo_set_font_size(cr, std::max(8.0, 11.0 * room / te.x_advance));
      cairo_move_to(cr, x0, y);
      cairo_show_text(cr, text.c_str());
      if (shrink) cairo_set_font_size(cr, 11);
    };
    show_fitted(cap, y0 + static_cast<double>(tile_h) + 13);
    if (!second.empty()) show_fitted(second, y0 + static_cast<double>(tile_h) + 26);
  }
  cairo_destroy(cr);
  const cairo_status_t st = cairo_surface_write_to_png(surface, path.c_str());
  cairo_surface_destroy(surface);
  MN_CHECK(st == CAIRO_STATUS_SUCCESS, "cannot write ", path, ": ", cairo_status_to_string(st));
#else
  (void)title;
  MN_CHECK(false, "this build has no image output (built without cairo); ", path, " was not written");
#endif
}

}  // namespace mednet::report
